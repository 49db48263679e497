"""Validation of pet data that people type: microchip numbers."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_ISO = re.compile(r"^\d{15}$")
_LEGACY = re.compile(r"^[0-9A-Fa-f]{9,10}$")


def _microchip_pattern() -> str:
    """The numbers ``validate_microchip`` accepts, as one regular expression (for the API
    schema): separators anywhere, 15 digits not starting 000, or 9–10 hex characters."""
    # Spaces (those ``lib.text.plain_line`` lets through), dots and dashes.
    sep = r"[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000.\-]*"
    first_three = "|".join(
        sep.join(chars) for chars in (("[1-9]", "[0-9]", "[0-9]"), ("0", "[1-9]", "[0-9]"),
                                      ("0", "0", "[1-9]"))
    )  # fmt: skip
    iso = f"(?:{first_three})(?:{sep}[0-9]){{12}}"
    legacy = f"[0-9A-Fa-f](?:{sep}[0-9A-Fa-f]){{8,9}}"
    return f"^{sep}(?:{iso}|{legacy})?{sep}$"


MICROCHIP_PATTERN = _microchip_pattern()


def microchip_normalize(value: str) -> str:
    """Strip spaces, dots and dashes people type between digit groups; upper-case hex."""
    return re.sub(r"[\s.\-]", "", value or "").upper()


def validate_microchip(value: str) -> str:
    """Return the normalised number, or raise ``ValidationError``.

    Accepted: 15 digits (ISO 11784/11785 FDX-B; the first three are a country or maker
    code, so ``000`` is refused), or a 9/10-character legacy code (FDX-A / AVID, hex digits).
    """
    number = microchip_normalize(value)
    if not number:
        return ""
    if _ISO.match(number):
        if number.startswith("000"):
            raise ValidationError(_("A 15-digit microchip number cannot start with 000."))
        return number
    if _LEGACY.match(number):
        return number
    raise ValidationError(
        _("A microchip number has 15 digits (ISO 11784/11785) or 9–10 characters (older chips).")
    )
