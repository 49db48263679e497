"""Django's CSRF token for a page, its mask drawn from one read of the random source.

``django.middleware.csrf.get_token`` masks the secret with 32 characters it draws one by one
(``secrets.choice``, 32 calls into ``random.SystemRandom``, each a read of ``os.urandom``)
and adds them with ``str.index`` in a generator: about a twentieth of a signed-in page's
CPU. ``get_token`` here makes the same token, in the same format and from the same
distribution, in a few microseconds:

* the mask is 32 characters of ``CSRF_ALLOWED_CHARS`` (62), each uniform and independent:
  bytes from ``secrets.token_bytes`` (the same source) below 248 (4 × 62) kept, each taken
  modulo 62 (a byte of 248 or more is dropped, not folded, so no character is likelier);
* the cipher is Django's: the secret's character index plus the mask's, modulo 62;
* the token is ``mask + cipher``, which ``CsrfViewMiddleware`` unmasks as it does its own
  (``tests/pets/test_page_csrf.py`` posts forms with these tokens, and forged ones).

The secret is the request's as Django reads it (``request.META["CSRF_COOKIE"]``, set by
``CsrfViewMiddleware`` from the cookie or the session after checking its format), and the
cookie is renewed on the response as Django's ``get_token`` has it. A request without a
secret yet (the first page of a visitor) goes to Django's ``get_token``, which makes one.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.middleware.csrf import get_token as django_get_token

_N = len(CSRF_ALLOWED_CHARS)
_LIMIT = 256 - 256 % _N  # bytes below this fall on each character equally often
_DROP = bytes(range(_LIMIT, 256))
_TO_CHAR = bytes(ord(CSRF_ALLOWED_CHARS[b % _N]) for b in range(256))
_INDEX = {char: n for n, char in enumerate(CSRF_ALLOWED_CHARS)}
_ALLOWED = frozenset(CSRF_ALLOWED_CHARS)
# _ADD[i][b]: the cipher character of a secret character of index i under mask byte b.
_ADD = tuple(tuple(CSRF_ALLOWED_CHARS[(i + b) % _N] for b in range(256)) for i in range(_N))
_DRAW = CSRF_SECRET_LENGTH + 8  # enough bytes nearly always (248 of 256 are kept)


def _mask_bytes() -> bytes:
    """``CSRF_SECRET_LENGTH`` random bytes, each below ``_LIMIT`` (uniform modulo 62)."""
    kept = secrets.token_bytes(_DRAW).translate(None, _DROP)
    while len(kept) < CSRF_SECRET_LENGTH:
        kept += secrets.token_bytes(_DRAW).translate(None, _DROP)
    return kept[:CSRF_SECRET_LENGTH]


def mask_secret(secret: str) -> str:
    """A new masked token of ``secret`` (32 characters of ``CSRF_ALLOWED_CHARS``), as
    ``django.middleware.csrf._mask_cipher_secret`` makes one."""
    mask = _mask_bytes()
    cipher = "".join([_ADD[_INDEX[char]][b] for char, b in zip(secret, mask, strict=True)])
    return mask.translate(_TO_CHAR).decode("ascii") + cipher


def get_token(request: HttpRequest) -> str:
    """``django.middleware.csrf.get_token`` with the cheaper mask (see the module
    docstring): the request's CSRF token, a new mask each call, and the cookie renewed."""
    secret = request.META.get("CSRF_COOKIE")
    if (
        not isinstance(secret, str)
        or len(secret) != CSRF_SECRET_LENGTH
        or not _ALLOWED.issuperset(secret)
    ):
        return str(django_get_token(request))  # none yet: Django makes and sets one
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    return mask_secret(secret)
