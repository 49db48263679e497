"""``/health`` for load balancers and ``/metrics`` for Prometheus.

Both are also answered by :class:`pawfile.ops.middleware.ProbeMiddleware`, when installed,
before the rest of the middleware; these views serve them otherwise, with the same answers.
"""

from __future__ import annotations

import hmac
import ipaddress
from enum import Enum
from functools import cache

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from pawfile.lib.clientip import client_ip
from pawfile.ops import metrics as ops_metrics
from pawfile.ops.health import run_checks

FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def health_response() -> JsonResponse:
    """``{"status": "ok"|"warn"|"fail", "checks": {...}, "version": ...}``; 200 if all pass
    (``warn``: a check passed with a ``warning``, such as a stale backup), else 503."""
    healthy, checks = run_checks()
    warned = any(check.get("warning") for check in checks.values())
    status = "fail" if not healthy else "warn" if warned else "ok"
    response = JsonResponse(
        {"status": status, "checks": checks, "version": ops_metrics.VERSION},
        status=200 if healthy else 503,
    )
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """The health report (:func:`health_response`); touches neither session nor CSRF."""
    return health_response()


@cache
def _proxy_networks(
    spec: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def internal_client(request: HttpRequest) -> bool:
    """Is the client on loopback or a private network, as far as we can tell?

    A request relayed by a proxy that is not in ``PAWFILE_TRUSTED_PROXIES`` is refused: the
    peer is then the proxy (often loopback), and the real client is unknown.
    """
    ip = _address(client_ip(request))
    if ip is None or ip.is_unspecified or not (ip.is_loopback or ip.is_private):
        return False
    if any(request.META.get(header) for header in FORWARDING_HEADERS):
        peer = _address(request.META.get("REMOTE_ADDR", ""))
        networks = _proxy_networks(tuple(settings.PAWFILE_TRUSTED_PROXIES))
        if peer is None or not any(peer in network for network in networks):
            return False
    return True


class Access(Enum):
    ALLOWED = "allowed"
    UNAUTHORIZED = "unauthorized"  # a token is set and was not presented: 401
    HIDDEN = "hidden"  # no token, and the caller is not internal: 404


def metrics_access(request: HttpRequest) -> Access:
    """May ``request`` read the metrics?

    With ``PAWFILE_METRICS_TOKEN`` set, only with ``Authorization: Bearer <token>``; without
    it, only from :func:`internal_client` callers.
    """
    token = settings.PAWFILE_METRICS_TOKEN
    if token:
        scheme, _sep, supplied = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            supplied.strip().encode(), token.encode()
        ):
            return Access.ALLOWED
        return Access.UNAUTHORIZED
    return Access.ALLOWED if internal_client(request) else Access.HIDDEN


def metrics_response() -> HttpResponse:
    """The metrics in Prometheus text format."""
    response = HttpResponse(ops_metrics.render(), content_type=ops_metrics.CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """The metrics for callers :func:`metrics_access` allows; 401 or 404 for the others."""
    access = metrics_access(request)
    if access is Access.UNAUTHORIZED:
        denied = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        denied["WWW-Authenticate"] = 'Bearer realm="metrics"'
        denied["Cache-Control"] = "no-store"
        return denied
    if access is Access.HIDDEN:
        raise Http404
    return metrics_response()
