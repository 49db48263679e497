"""One-click unsubscribe links (RFC 8058): a signed token names the user and the kind.

The token does not expire (a mail read in a year must still unsubscribe) and carries no
secret of the user; it only ever turns email off for one kind (or ``*``, every kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "pawfile.notifications.unsubscribe"


@dataclass(frozen=True)
class Links:
    https: str
    mailto: str


def token_make(*, user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=SALT, compress=True)


def token_read(token: str) -> tuple[int, str] | None:
    """The (user id, kind) a token names, or ``None`` when it was not made here."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    return data["u"], str(data.get("k") or "*")


def links(*, user: Any, kind: str) -> Links:
    token = token_make(user_id=user.pk, kind=kind)
    path = reverse("notification_unsubscribe", kwargs={"token": token})
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "pawfile@localhost"
    return Links(
        https=settings.PAWFILE_BASE_URL + path,
        mailto=f"mailto:{address}?subject=unsubscribe%20{token}",
    )
