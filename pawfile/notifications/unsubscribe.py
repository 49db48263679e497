"""One-click unsubscribe links (RFC 8058): a signed token names the user and the kind.

The token does not expire (a mail read in a year must still unsubscribe) and carries no
secret of the user; it only ever turns email off for one kind (or ``*``, every kind).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse

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


# What a token is made of (URL-safe base64, signing's ":" and the "." of a compressed one):
# all characters ``reverse`` leaves as they are.
_TOKEN = re.compile(r"[A-Za-z0-9_.:-]+")
_STAND_IN = "pawfiletokenstandin"


def _path(token: str) -> str:
    """``reverse("notification_unsubscribe", token)``: reversed once for a stand-in token
    and the token put in its place (a ``reverse`` per mail cost as much as the signing);
    a token of other characters, or an address the stand-in is not once in, is reversed."""
    parts = _path_parts(get_script_prefix(), get_urlconf(), settings.ROOT_URLCONF)
    if parts is None or not _TOKEN.fullmatch(token):
        return reverse("notification_unsubscribe", kwargs={"token": token})
    return f"{parts[0]}{token}{parts[1]}"


@functools.lru_cache(maxsize=8)
def _path_parts(prefix: str, urlconf: object, root: str) -> tuple[str, str] | None:
    path = reverse("notification_unsubscribe", kwargs={"token": _STAND_IN})
    if path.count(_STAND_IN) != 1:
        return None
    before, after = path.split(_STAND_IN)
    return before, after


@functools.lru_cache(maxsize=8)
def _address(from_email: str) -> str:
    return parseaddr(from_email)[1]  # (a parse costs about a sixth of the links)


def links(*, user: Any, kind: str) -> Links:
    token = token_make(user_id=user.pk, kind=kind)
    path = _path(token)
    address = _address(settings.DEFAULT_FROM_EMAIL) or "pawfile@localhost"
    return Links(
        https=settings.PAWFILE_BASE_URL + path,
        mailto=f"mailto:{address}?subject=unsubscribe%20{token}",
    )
