"""``lib.webpath.WebHandler``: each path matched once per process, to Django's own answer;
404s and request URLconfs resolved Django's way; the memory bounded; what granian serves."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import Resolver404, get_resolver, resolve
from django.urls import path as route
from django.utils.html import escape

from pawfile.lib import webpath
from pawfile.lib.webpath import WebHandler
from tests.conftest import Cast

# A URLconf of one page: ``request.urlconf`` and ``ROOT_URLCONF`` in the tests below.
urlpatterns = [route("only/", lambda request: HttpResponse("only"), name="only")]
URLCONF = "tests.lib.test_webpath"
PATHS = ["/pets/", "/pets/12/", "/pets/12/edit/", "/notifications/", "/health"]


def test_a_path_is_matched_once_to_djangos_answer() -> None:
    handler = WebHandler()
    for path in PATHS:
        first = handler.resolve_request(RequestFactory().get(path))
        request = RequestFactory().get(path)
        again = handler.resolve_request(request)
        assert again is first and request.resolver_match is first  # kept
        django = resolve(path)
        assert (again.func, again.args, again.kwargs) == (django.func, django.args, django.kwargs)
        assert (again.url_name, again.route) == (django.url_name, django.route)
    assert len(handler._resolved) == len(PATHS)


def test_a_404_is_not_kept_and_a_request_urlconf_is_djangos(settings: Any) -> None:
    handler = WebHandler()
    with pytest.raises(Resolver404):
        handler.resolve_request(RequestFactory().get("/no/such/page/"))
    request = RequestFactory().get("/pets/")
    request.urlconf = URLCONF
    with pytest.raises(Resolver404):  # that URLconf has no /pets/
        handler.resolve_request(request)
    assert handler._resolved == {}


def test_another_root_urlconf_is_another_resolver() -> None:
    handler = WebHandler()
    handler.resolve_request(RequestFactory().get("/pets/"))
    with override_settings(ROOT_URLCONF=URLCONF):
        with pytest.raises(Resolver404):
            handler.resolve_request(RequestFactory().get("/pets/"))
        assert handler.resolve_request(RequestFactory().get("/only/")).url_name == "only"
        assert (get_resolver(), "/only/") in handler._resolved
    assert handler.resolve_request(RequestFactory().get("/pets/")).url_name == "pet_list"


def test_the_paths_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webpath, "RESOLVED_MAX", 3)
    handler = WebHandler()
    for n in range(10):
        handler.resolve_request(RequestFactory().get(f"/pets/{n + 1}/"))
        assert len(handler._resolved) <= 3


# Committed rows: the WSGI application closes a connection left in a transaction when a
# request starts and ends (``close_old_connections``), as a served process does.
@pytest.mark.django_db(transaction=True)
def test_granian_serves_it_and_pages_answer_as_before(cast: Cast) -> None:
    from pawfile.config import wsgi

    wrapped = [cell.cell_contents for cell in wsgi.django_application.__closure__ or ()]
    assert any(isinstance(app, WebHandler) for app in wrapped)
    client = cast.client_for("alice")
    cookie = "; ".join(f"{k}={m.value}" for k, m in client.cookies.items())
    for path, code in (("/pets/", "200"), ("/pets/", "200"), ("/no/such/page/", "404")):
        environ = {
            **RequestFactory()._base_environ(PATH_INFO=path, HTTP_COOKIE=cookie),  # type: ignore[attr-defined]
            "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        }  # fmt: skip
        answer: list[str] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
            answer.append(status)  # noqa: B023 - called before the loop goes on

        body = b"".join(wsgi.application(environ, start_response))
        assert answer[0].split()[0] == code
        if code == "200":
            assert escape(cast.household.name).encode() in body  # alice's page
