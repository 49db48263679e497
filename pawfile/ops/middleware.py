"""Request-level operations: request ids and the access log, metrics, security headers.

``RequestIdMiddleware``, ``MetricsMiddleware`` and ``SecurityHeadersMiddleware`` sit first in
``MIDDLEWARE``, in this order, so they see every response, including those other middleware
answer on their own (rate limits, redirects, static files). ``ProbeMiddleware`` belongs right
after them: it answers health checks and scrapes without the rest of the chain. Each runs on every
request, so each does a few dictionary operations and nothing more.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from functools import cache
from time import perf_counter
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, resolve
from django.utils.functional import LazyObject, empty

from pawfile.ops import metrics, views
from pawfile.ops.logging import log_context_clear, loggable_path

GetResponse = Callable[[HttpRequest], HttpResponse]

REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,128}")

# Probes and scrapes arrive every few seconds; their access lines are debug-level only.
PROBE_PATHS = QUIET_PATHS = frozenset({"/health", "/metrics"})

access_log = structlog.stdlib.get_logger("pawfile.request")
_access_std = logging.getLogger("pawfile.request")


def _user_id(request: HttpRequest) -> object | None:
    """The signed-in user's id, if the request already loaded the user; never a query."""
    user = request.__dict__.get("user")
    if isinstance(user, LazyObject):
        user = user._wrapped
        if user is empty:
            return None
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "pk", None)
    return None


class RequestIdMiddleware:
    """Gives every request an id and writes one access line for it.

    The id is the client's ``X-Request-ID`` when it matches ``REQUEST_ID_RE``, a new uuid4
    hex otherwise. It is stored as ``request.id``, returned in the ``X-Request-ID`` response
    header and bound, with the method and path, to every log line written during the
    request. The access line is the ``request`` event on the ``pawfile.request`` logger with
    method, path, route, status, duration_ms, request_id and, for a signed-in user the
    request already loaded, user_id. It is logged at INFO, or at DEBUG for ``QUIET_PATHS``.
    Secret-looking path segments are redacted (:func:`loggable_path`); query strings are
    never logged.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = perf_counter()
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
        request.id = request_id  # type: ignore[attr-defined]
        path = loggable_path(request.path)
        # Threads are reused between requests: start from an empty context every time.
        log_context_clear()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, method=request.method, path=path
        )
        # The context is cleared when the next request starts, or when the response is
        # closed (pawfile.ops.apps), not here: Django logs 4xx and 5xx after the middleware
        # chain returns, and those lines must carry the request id too.
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        level = logging.DEBUG if request.path_info in QUIET_PATHS else logging.INFO
        if _access_std.isEnabledFor(level):
            status = response.status_code
            route = getattr(request, "_pawfile_route", None) or metrics.route_of(request, status)
            fields = {
                "method": request.method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": round((perf_counter() - start) * 1000, 2),
                "request_id": request_id,
            }
            user_id = _user_id(request)
            if user_id is not None:
                fields["user_id"] = user_id
            access_log.log(level, "request", **fields)
        return response


class MetricsMiddleware:
    """Counts and times every request into :mod:`pawfile.ops.metrics`."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = perf_counter()
        try:
            response = self.get_response(request)
        except BaseException:
            # Django turns exceptions into responses further in; this is the last resort.
            request._pawfile_route = metrics.observe(request, 500, perf_counter() - start)  # type: ignore[attr-defined]
            raise
        request._pawfile_route = metrics.observe(  # type: ignore[attr-defined]
            request, response.status_code, perf_counter() - start
        )
        return response


CSP_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
CSP = "; ".join(CSP_DIRECTIVES)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(self), payment=()"


@cache
def _csp_with_social_login(oidc_server_url: str) -> str:
    # The login form POSTs to us and we redirect to the provider; form-action governs that
    # redirect too. A plain-http OpenID server (development) is allowed by its origin.
    sources = ["'self'", "https:"]
    parts = urlsplit(oidc_server_url)
    if parts.scheme == "http" and parts.netloc:
        sources.append(f"http://{parts.netloc}")
    form_action = "form-action " + " ".join(sources)
    return "; ".join(form_action if d.startswith("form-action") else d for d in CSP_DIRECTIVES)


def content_security_policy() -> str:
    """The CSP for the current settings: ``CSP``, with form-action widened for social login."""
    if not getattr(settings, "SOCIALACCOUNT_PROVIDERS", None):
        return CSP
    return _csp_with_social_login(getattr(settings, "OIDC_SERVER_URL", "") or "")


class SecurityHeadersMiddleware:
    """Adds the ``Content-Security-Policy``, ``Permissions-Policy`` and CORP headers.

    A header the view already set is kept, so a view can replace the CSP; a view that sets
    ``Content-Security-Policy`` to the empty string opts out and the header is removed.
    ``Cross-Origin-Resource-Policy`` is ``same-origin``. HSTS, ``X-Content-Type-Options`` and
    ``Referrer-Policy`` come from Django's ``SecurityMiddleware``.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        headers = response.headers
        csp = headers.get("Content-Security-Policy")
        if csp is None:
            headers["Content-Security-Policy"] = content_security_policy()
        elif not csp:
            del headers["Content-Security-Policy"]
        headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


@cache
def _probe_match(path: str) -> ResolverMatch | None:
    try:
        return resolve(path)
    except Resolver404:
        return None


class ProbeMiddleware:
    """Answers ``GET /health``, and ``GET /metrics`` for allowed callers, ahead of the chain.

    Belongs right after ``SecurityHeadersMiddleware``. Load balancers, container health
    checks and Prometheus often address the server by IP, which ``ALLOWED_HOSTS`` refuses in
    production, and they gain nothing from sessions, locale, messages or authentication;
    skipping those also makes each probe several times cheaper. The answers are the views'
    own (:mod:`pawfile.ops.views`), with ``X-Content-Type-Options`` added here since Django's
    ``SecurityMiddleware`` is skipped. Every other request, including a ``/metrics`` request
    that is not allowed, goes down the chain as usual and gets the views' 401 or 404.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path not in PROBE_PATHS or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if path == "/health":
            response: HttpResponse = views.health_response()
        elif views.metrics_access(request) is views.Access.ALLOWED:
            response = views.metrics_response()
        else:
            return self.get_response(request)
        # Gives the metrics and the access line the same route as the URL view would.
        request.resolver_match = _probe_match(path)
        if settings.SECURE_CONTENT_TYPE_NOSNIFF:
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
