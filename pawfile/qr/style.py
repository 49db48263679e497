"""A code's look: colours checked for contrast, sizes within what scanners read.

``style_clean`` takes the style fields as given and returns them normalised, or raises
``Invalid`` naming the field. The limits are the ones the tests decode every combination of
(``tests/qr/test_images.py``): dark code on a light background with a contrast of at least
``MIN_CONTRAST`` (WCAG's formula), modules of 2–40 px, a quiet zone of 2–10 modules, any
error-correction level (forced to H when a logo covers the centre).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from pawfile.lib.errors import Invalid
from pawfile.lib.text import plain_line
from pawfile.qr.choices import ErrorLevel
from pawfile.qr.models import FRAME_TEXT_MAX_LENGTH

MIN_CONTRAST = 4.5
MODULE_SIZES = (2, 40)
QUIET_ZONES = (2, 10)
_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


@dataclass(frozen=True)
class Style:
    fg_color: str
    bg_color: str
    module_size: int
    quiet_zone: int
    error_level: str
    frame_text: str


def colour_clean(value: str, *, field: str) -> str:
    """``#rrggbb`` (lower case) from ``#rgb``, ``#rrggbb`` or without ``#``."""
    match = _COLOUR.match(value.strip())
    if not match:
        raise Invalid(_("Enter a colour as #rrggbb, for example #1a2b3c."), field=field)
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    a, b = _luminance(fg), _luminance(bg)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def _bounded(value: int, bounds: tuple[int, int], *, field: str) -> int:
    low, high = bounds
    if not low <= value <= high:
        raise Invalid(
            _("Choose a value from %(low)d to %(high)d.") % {"low": low, "high": high}, field=field
        )
    return value


def style_clean(
    *,
    fg_color: str,
    bg_color: str,
    module_size: int,
    quiet_zone: int,
    error_level: str,
    frame_text: str,
    has_logo: bool,
) -> Style:
    """The style normalised; ``Invalid`` (with the field) for a colour pair scanners may not
    read, sizes out of range, an unknown level or a frame text that is not one short line."""
    fg = colour_clean(fg_color, field="fg_color")
    bg = colour_clean(bg_color, field="bg_color")
    if _luminance(fg) >= _luminance(bg):
        raise Invalid(
            _(
                "The code must be darker than its background: many phones cannot read light "
                "codes on dark."
            ),
            field="fg_color",
        )
    ratio = contrast(fg, bg)
    if ratio < MIN_CONTRAST:
        raise Invalid(
            _(
                "The colours are too close for phones to read the code reliably (contrast "
                "%(ratio).1f:1, at least %(min).1f:1 needed). Use a darker code or a lighter "
                "background."
            )
            % {"ratio": ratio, "min": MIN_CONTRAST},
            field="fg_color",
        )
    if error_level not in ErrorLevel.values:
        raise Invalid(_("Choose L, M, Q or H."), field="error_level")
    text = plain_line(frame_text.strip(), field="frame_text") if frame_text else ""
    if len(text) > FRAME_TEXT_MAX_LENGTH:
        raise Invalid(
            _("At most %(max)d characters.") % {"max": FRAME_TEXT_MAX_LENGTH}, field="frame_text"
        )
    return Style(
        fg_color=fg,
        bg_color=bg,
        module_size=_bounded(module_size, MODULE_SIZES, field="module_size"),
        quiet_zone=_bounded(quiet_zone, QUIET_ZONES, field="quiet_zone"),
        error_level=ErrorLevel.H if has_logo else error_level,
        frame_text=text,
    )
