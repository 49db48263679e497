"""The site's VAPID key (RFC 8292): it signs every web push request, and browsers subscribe
with its public half (``applicationServerKey``).

Where the key comes from, first found wins:

1. ``WEBPUSH_VAPID_PRIVATE_KEY`` (or ``WEBPUSH_VAPID_PRIVATE_KEY_FILE``): a PEM private key,
   or the raw 32-byte P-256 scalar in base64url (what ``vapid --gen`` and most web push
   guides print);
2. ``PAWFILE_DATA_DIR/vapid_private.pem``, generated on first use (mode 600). Processes
   starting together agree on the first key written (written whole under another name,
   then linked into place; a link never replaces an existing file). Under
   ``PAWFILE_ENV=test`` with no such file, a key kept in memory for the process.

Decision for scale-out: the key is NOT kept in the database. Several nodes must share it
(a subscription made against one node's public key is refused by the push service when
another node signs with a different key), so with several nodes set the setting; the
deploy check ``pawfile.W501`` warns in production with Redis (the scale-out layout) and no
key set. Changing the key orphans every subscription: browsers must subscribe again (the
next push to an old subscription gets 401/403 from the push service).
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid02

KEY_FILE = "vapid_private.pem"
# How long one signed VAPID token is valid (push services refuse more than 24 h).
TOKEN_LIFETIME = 12 * 3600

_loaded: dict[str, ec.EllipticCurvePrivateKey] = {}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parse(text: str, source: str) -> ec.EllipticCurvePrivateKey:
    text = text.strip()
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = b64url_decode(text.replace("\n", ""))
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{source}: not a VAPID private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ImproperlyConfigured(f"{source}: a VAPID key is an EC P-256 private key")
    return key


def _file_create(path: Path) -> None:
    """Write a new key to ``path`` (mode 600) unless one is there; see the module doc."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def private_key() -> ec.EllipticCurvePrivateKey:
    """The VAPID private key (from the setting, else the data dir's file, made if missing).
    Raises ``ImproperlyConfigured`` for a setting or file that is not a P-256 key."""
    configured = settings.WEBPUSH_VAPID_PRIVATE_KEY
    cache_key = "setting:" + configured if configured else "file:" + str(settings.DATA_DIR)
    found = _loaded.get(cache_key)
    if found is not None:
        return found
    if configured:
        key = _parse(configured, "WEBPUSH_VAPID_PRIVATE_KEY")
    else:
        path = Path(settings.DATA_DIR) / KEY_FILE
        if not path.is_file() and settings.PAWFILE_ENV == "test":
            # As for the secret key: the test suite writes nothing to a data dir.
            key = _loaded.setdefault("test", ec.generate_private_key(ec.SECP256R1()))
            return key
        if not path.is_file():
            _file_create(path)
        key = _parse(path.read_text(encoding="utf-8"), str(path))
    _loaded[cache_key] = key
    return key


def public_key() -> str:
    """The public key as browsers take it for ``applicationServerKey``: the uncompressed
    P-256 point, base64url without padding."""
    point = (
        private_key()
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url(point)


def subject() -> str:
    """The ``sub`` claim: ``WEBPUSH_VAPID_SUBJECT``, else ``mailto:`` the site's sender."""
    if settings.WEBPUSH_VAPID_SUBJECT:
        return str(settings.WEBPUSH_VAPID_SUBJECT)
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "pawfile@localhost"
    return f"mailto:{address}"


def authorization(endpoint: str, *, now: float | None = None) -> str:
    """The ``Authorization`` header for a push to ``endpoint``: ``vapid t=<JWT>,k=<public
    key>`` with the claims ``aud`` (the endpoint's origin), ``exp`` (12 h on) and ``sub``."""
    parts = urlsplit(endpoint)
    claims: dict[str, Any] = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int((now or time.time()) + TOKEN_LIFETIME),
        "sub": subject(),
    }
    return str(Vapid02(private_key()).sign(claims)["Authorization"])


@register(Tags.security, deploy=True)
def vapid_shared_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when web push is on in a scale-out production (Redis) without a set key: each
    node would generate its own and browsers' subscriptions would fail on the others."""
    if (
        settings.WEBPUSH_ENABLED
        and settings.PRODUCTION
        and settings.REDIS_URL
        and not settings.WEBPUSH_VAPID_PRIVATE_KEY
    ):
        return [
            Warning(
                "Web push is on and no WEBPUSH_VAPID_PRIVATE_KEY is set: each node generates "
                "its own key in its data dir, and push fails for browsers that subscribed "
                "through another node.",
                hint="Set WEBPUSH_VAPID_PRIVATE_KEY (or _FILE) to one key on every node, e.g. "
                "the content of the data dir's vapid_private.pem.",
                id="pawfile.W501",
            )
        ]
    return []
