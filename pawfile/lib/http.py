"""All outbound HTTP of the site goes through here: a timeout on every request, optional
retries with backoff, and no requests to private addresses unless the caller allows them.

``http_request`` is httpx with those three rules. The private-address guard resolves the
host and refuses loopback, private (RFC 1918, ULA), link-local, multicast, reserved and
unspecified addresses (``PrivateAddressError``), so a URL a user typed cannot reach the
site's own network. The guard checks the addresses the name resolves to before the request;
a name that resolves differently a moment later (DNS rebinding) is not covered: the
operator's egress firewall is the second line.

``address_is_private`` and ``host_check`` are also used by code whose library does its own
I/O (Apprise): check the host first, then let it send.

``retry_after_seconds`` reads a provider's ``Retry-After`` (seconds or an HTTP date), for
the outbox to schedule the next attempt of a delivery no earlier than the provider asked.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import time
from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

DEFAULT_TIMEOUT = 10.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HttpError(Exception):
    """An outbound request that could not be made or answered (network, timeout)."""


class PrivateAddressError(HttpError):
    """The target host is (or resolves to) an address inside a private network."""


def address_is_private(address: str) -> bool:
    """Whether the IP ``address`` is not a public unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _addresses(host: str, port: int | None) -> Iterable[str]:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return [host.strip("[]")]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise HttpError(f"cannot resolve {host!r}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in found))  # the resolver's order


def host_check(host: str, *, port: int | None = None, allow_private: bool = False) -> list[str]:
    """Raise ``PrivateAddressError`` when ``host`` is or resolves to a private address
    (unless ``allow_private``); ``HttpError`` when it does not resolve. Returns the
    addresses checked, in the resolver's order (none when ``allow_private``), so a caller
    that connects by itself can connect to the first rather than look the name up again."""
    if allow_private:
        return []
    if not host:
        raise HttpError("no host")
    if host.lower() in {"localhost", "localhost.localdomain"} or host.lower().endswith(
        ".localhost"
    ):
        raise PrivateAddressError(f"{host} is a private address")
    addresses = list(_addresses(host, port))
    for address in addresses:
        if address_is_private(address):
            raise PrivateAddressError(f"{host} resolves to a private address ({address})")
    return addresses


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header value asks for, in seconds (RFC 9110 10.2.3).

    ``value`` is either a whole number of seconds (``"120"``) or an HTTP date
    (``"Wed, 21 Oct 2026 07:28:00 GMT"``), read against ``now`` (default: the current UTC
    time). A date in the past is 0. Returns ``None`` for a missing or unreadable value
    (negative or fractional numbers, other text): the caller then uses its own backoff.
    No upper bound is applied here; the caller caps it.
    """
    text = (value or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" in the date: UTC (RFC 5322 3.3)
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max((when - now).total_seconds(), 0.0)


def http_request(
    method: str,
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    allow_private: bool = False,
    retries: int = 0,
    backoff: float = 0.5,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request with httpx (``kwargs`` as for ``httpx.request``: ``json``,
    ``headers``, ``params``, ``content``...) and return the response, whatever its status.

    ``timeout`` (seconds) bounds connecting, each read and the whole exchange. With
    ``retries`` > 0, a network error, a timeout or a 429/5xx answer is tried again after
    ``backoff`` × 2^n seconds (``Retry-After`` when given and shorter than 30 s); the last
    answer (or ``HttpError``) is returned. Redirects are not followed. Raises
    ``PrivateAddressError`` before any I/O for a private target, ``HttpError`` for a
    network failure or timeout.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise HttpError(f"only http and https addresses, not {parts.scheme!r}")
    host_check(parts.hostname or "", port=parts.port, allow_private=allow_private)
    attempt = 0
    deadline = time.monotonic() + timeout
    while True:
        left = max(deadline - time.monotonic(), 0.1) if retries == 0 else timeout
        try:
            response = httpx.request(
                method, url, timeout=httpx.Timeout(left), follow_redirects=False, **kwargs
            )
        except httpx.TimeoutException as exc:
            if attempt >= retries:
                raise HttpError(f"timed out after {timeout:g} s: {type(exc).__name__}") from None
            wait = backoff * 2**attempt
        except httpx.HTTPError as exc:
            if attempt >= retries:
                raise HttpError(f"{type(exc).__name__}: {exc}") from None
            wait = backoff * 2**attempt
        else:
            if response.status_code not in RETRY_STATUSES or attempt >= retries:
                return response
            wait = backoff * 2**attempt
            after = retry_after_seconds(response.headers.get("Retry-After"))
            if after is not None and after <= 30:
                wait = after
        attempt += 1
        time.sleep(wait)
