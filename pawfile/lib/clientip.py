"""The client's IP address, trusting ``X-Forwarded-For`` only from configured proxies.

``PAWFILE_TRUSTED_PROXIES`` lists addresses or networks (``10.0.0.0/8``). When the direct
peer is one of them, ``X-Forwarded-For`` is read from the right, skipping trusted hops; the
first untrusted address is the client. Otherwise the header is ignored: anyone can send it.
"""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _trusted(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(request: HttpRequest) -> str:
    """The best-known address of the client; ``REMOTE_ADDR`` when no proxy is trusted."""
    cached = getattr(request, "_pawfile_client_ip", None)
    if cached:
        return str(cached)
    remote = request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 - not a bind address
    networks = _trusted(tuple(settings.PAWFILE_TRUSTED_PROXIES))
    result = remote
    if networks and _is_trusted(remote, networks):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            result = hop
            if not _is_trusted(hop, networks):
                break
        try:
            ipaddress.ip_address(result)
        except ValueError:
            result = remote
    request._pawfile_client_ip = result  # type: ignore[attr-defined]
    return result
