"""The short path for API clients: bearer-token calls to ``/api/v1/`` skip the browser layers.

A call that carries ``Authorization: Bearer ...`` and no cookie at all has no session, no CSRF
token to check, no messages, no language cookie and no admin to guard; the middleware for
those (sessions, locale, common, CSRF, authentication, auth rate limits, preferences,
messages, admin guard, X-Frame-Options, allauth's) cost more than the rest of a small API
call. ``BearerApiMiddleware`` sits right after Django's ``SecurityMiddleware``: for such a
call it resolves and runs the view itself and does, in a few lines, what the skipped layers
would have done for it:

* ``request.user`` is anonymous until the API's bearer auth sets the token's user (with no
  cookie, the session layers would also have found nobody);
* the language comes from ``Accept-Language`` (what ``LocaleMiddleware`` does without a
  cookie), with ``Content-Language`` and ``Vary: Accept-Language`` on the answer;
* ``X-Frame-Options: DENY`` and ``Content-Length`` are set;
* the user's time zone, activated by the API's auth once the token is resolved (as the
  preferences middleware does for pages), is deactivated when the view returns.

Everything before it (request id and access log, metrics, CSP and security headers, HSTS) and
the API's own checks (token validation, per-user and per-IP limits, ETags) run as for any
call. Any other request, including an API call made with the browser session, goes down the
whole chain. ``tests/config/test_middleware.py`` pins the middleware list with the reason each
layer after this one may be skipped, so a new middleware forces a decision for bearer calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch, get_resolver
from django.utils import translation
from django.utils.cache import patch_vary_headers

from pawfile.lib.dates import zone_deactivate

API_PREFIX = "/api/v1/"


# (URL resolver, path) -> its match, kept (emptied when full) so a path is matched once per
# process: Django tries the API's patterns one by one (some 20 µs for /pets, 50 µs for
# /pets/{id}/records).
RESOLVED_MAX = 2048
_resolved: dict[tuple[Any, str], ResolverMatch] = {}


class _ViewOnlyHandler(BaseHandler):
    """Django's resolve-and-call step with no view, exception or template middleware, and
    with each path's ``ResolverMatch`` remembered per URL resolver (``_resolved``: the one
    match object is shared by the requests of a path; Django's handler only reads it, as
    does what reads ``request.resolver_match``; a path that resolves to nothing is not
    kept)."""

    def __init__(self) -> None:
        super().__init__()
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        if hasattr(request, "urlconf"):  # a URLconf of the request's own: Django's way
            return super().resolve_request(request)
        key = (get_resolver(), request.path_info)  # a changed ROOT_URLCONF: another resolver
        match = _resolved.get(key)
        if match is None:
            match = super().resolve_request(request)
            if len(_resolved) >= RESOLVED_MAX:
                _resolved.clear()
            _resolved[key] = match
        request.resolver_match = match
        return match


def is_bearer_api_call(request: HttpRequest) -> bool:
    """True for ``/api/v1/...`` with a bearer token and no cookie."""
    return (
        request.path_info.startswith(API_PREFIX)
        and request.META.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "
        and not request.META.get("HTTP_COOKIE")
    )


class BearerApiMiddleware:
    """Runs bearer-token API calls past the browser middleware; see the module docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.handler = _ViewOnlyHandler()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_bearer_api_call(request):
            return self.get_response(request)
        request.user = AnonymousUser()
        language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response: HttpResponse = self.handler._get_response(request)  # type: ignore[attr-defined]
        finally:
            # The API's auth activated the token user's time zone: it ends with the call.
            zone_deactivate()
        headers = response.headers
        patch_vary_headers(response, ("Accept-Language",))
        headers.setdefault("Content-Language", language)
        headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        if not response.streaming and "Content-Length" not in headers:
            headers["Content-Length"] = str(len(response.content))
        return response
