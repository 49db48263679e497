"""The site's URLs plus probes that answer with the time zone active while they run.

One probe is a web page, one an API operation under ``/api/v1/`` (so a bearer call takes
the short path of ``lib.apipath``) behind the API's real auth classes; each has a twin that
fails after looking, to show that a request that ends in an error leaks no zone either.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from ninja import NinjaAPI

from pawfile.accounts.apiauth import BearerAuth, SessionCsrfAuth
from pawfile.config.urls import urlpatterns as site_urlpatterns
from pawfile.lib.api import install_error_handlers


def _seen() -> dict[str, Any]:
    return {"zone": timezone.get_current_timezone_name(), "today": str(timezone.localdate())}


def zone_page(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_seen())


@login_required
def zone_page_failing(request: HttpRequest) -> JsonResponse:
    raise RuntimeError(f"failed in {_seen()['zone']}")


api = NinjaAPI(
    title="zone probe",
    version="test",
    auth=[BearerAuth(), SessionCsrfAuth()],
    urls_namespace="zone_probe_api",
    docs_url=None,
)
install_error_handlers(api)


@api.get("/zone")
def zone_api(request: HttpRequest) -> dict[str, Any]:
    return _seen()


@api.get("/zone-failing")
def zone_api_failing(request: HttpRequest) -> dict[str, Any]:
    raise RuntimeError(f"failed in {_seen()['zone']}")


urlpatterns = [
    path("api/v1/zone-probe/", api.urls),
    path("zone-probe/", zone_page),
    path("zone-probe/failing/", zone_page_failing),
    *site_urlpatterns,
]
