"""URL map. The admin path is configurable (``PAWFILE_ADMIN_PATH``)."""

from functools import partial

from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from ninja.openapi.views import openapi_view

from pawfile.config.api import api

handler400 = "pawfile.accounts.views.error_400"
handler403 = "pawfile.accounts.views.error_403"
handler404 = "pawfile.accounts.views.error_404"
handler500 = "pawfile.accounts.views.error_500"

urlpatterns = [
    # First: Django tries patterns in order, and API calls are the most frequent requests.
    path("api/v1/", api.urls),
    path("", include("pawfile.ops.urls")),
    path("", include("pawfile.accounts.urls")),
    path("", include("pawfile.privacy.urls")),
    path("", include("pawfile.pets.urls")),
    path("", include("pawfile.health.urls")),
    path("", include("pawfile.notifications.urls")),
    path("", include("pawfile.reminders.urls")),
    path("", include("pawfile.documents.urls")),
    path("", include("pawfile.qr.urls")),
    path("", include("pawfile.lostpet.urls")),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/docs", partial(openapi_view, api=api), name="api_docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Browsers and feed readers ask for /favicon.ico whatever a page links to.
    path(
        "favicon.ico",
        RedirectView.as_view(url=static("pawfile/favicon.svg"), permanent=True),
        name="favicon",
    ),
    path(settings.PAWFILE_ADMIN_PATH, admin.site.urls),
]
