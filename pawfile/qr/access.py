"""Who may manage generic codes: staff with the ``qr.qr_manager`` permission, from an
allowed address.

* ``manager_check(user, collection=...)``: a user without the permission gets ``Forbidden``
  (403) on the collection (list, create: "you cannot manage codes") and ``NotFound`` (404)
  on a code, so nothing says which codes exist. Superusers have every permission.
* ``address_allowed(request)``: with ``PAWFILE_QR_ADMIN_ALLOWED_IPS`` set, only those
  addresses or networks may use the management pages and API. The address is
  ``lib.clientip.client_ip``: ``X-Forwarded-For`` counts only from a trusted proxy, so a
  client cannot forge its way in.
"""

from __future__ import annotations

import ipaddress
from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _

from pawfile.lib.clientip import client_ip
from pawfile.lib.errors import Forbidden, NotFound

PERMISSION = "qr.qr_manager"


def is_manager(user: Any) -> bool:
    return bool(
        user is not None and user.is_authenticated and user.is_active and user.has_perm(PERMISSION)
    )


def manager_check(user: Any, *, collection: bool = False) -> None:
    """Return if ``user`` manages codes; raise ``Forbidden`` (collection) or ``NotFound``."""
    if is_manager(user):
        return
    if collection:
        raise Forbidden(_("You do not have permission to manage QR codes."))
    raise NotFound(_("No such QR code."))


@cache
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def address_allowed(request: HttpRequest) -> bool:
    """Whether the request's client address may manage codes (always, without an allowlist)."""
    spec = tuple(settings.PAWFILE_QR_ADMIN_ALLOWED_IPS)
    if not spec:
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in _networks(spec))


def address_check(request: HttpRequest) -> None:
    """Raise ``Forbidden`` (code ``address_not_allowed``) from an address outside the list."""
    if not address_allowed(request):
        raise Forbidden(
            _("QR codes cannot be managed from this network address."), code="address_not_allowed"
        )
