"""Numbers people type: a decimal with a comma or a point, whatever the page's language.

People write "30,5" and "30.5" for the same weight, and which one they use depends on their
habits (and their phone's keyboard) more than on the language of the page. ``decimal_parse``
reads either separator wherever the reading is unambiguous, in every language:

* one separator, once: it is the decimal separator ("30,5" and "30.5" are 30.5), unless
  it could equally be grouping thousands, see below;
* a comma and a point together: the last one is the decimal separator, the other groups
  thousands in threes ("1,234.5", "1.234,5");
* one separator several times: it groups thousands ("1.234.567");
* spaces (also no-break and thin spaces) group thousands and are ignored.

Ambiguous, and refused with a message that gives both readings: a separator that is not the
language's decimal separator, followed by exactly three digits after a whole part other
than 0 ("1,250" on an English page, "1.250" on a Spanish one: 1250 or 1.25?). "0,250" is not
ambiguous.

``DecimalInputField`` is the form field for every decimal input (weights, costs); the API
takes JSON numbers and never parses text.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import get_format
from django.utils.translation import gettext as _

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")
_SHAPE = re.compile(r"^[+-]?[0-9.,]+$")
_GROUPED = re.compile(r"^[0-9]{1,3}(?:[0-9]{3})*$")


class AmbiguousNumber(ValueError):
    """The text reads as two different numbers; ``readings`` holds both, as typed."""

    def __init__(self, text: str, readings: tuple[str, str]) -> None:
        super().__init__(text)
        self.text = text
        self.readings = readings


def _whole(text: str, group: str) -> str:
    """The digits of a whole part grouped by ``group`` (groups of three after the first);
    ``ValueError`` when the groups are not that."""
    if group and group in text:
        parts = text.split(group)
        if not (1 <= len(parts[0]) <= 3) or any(len(part) != 3 for part in parts[1:]):
            raise ValueError(text)
        text = "".join(parts)
    if not text.isdigit():
        raise ValueError(text)
    return text


def decimal_parse(text: str, *, decimal_separator: str = ".") -> Decimal:
    """The number in ``text`` (see the module docstring for what is read how).

    ``decimal_separator`` is the page language's own (``"."`` or ``","``); it only decides
    which readings are ambiguous. Raises ``AmbiguousNumber`` for an ambiguous text and
    ``ValueError`` for anything that is not a number.
    """
    compact = _SPACES.sub("", text)
    if not _SHAPE.match(compact):
        raise ValueError(text)
    sign = compact[0] if compact[0] in "+-" else ""
    body = compact[len(sign) :]
    commas, points = body.count(","), body.count(".")
    if commas and points:
        mark = "," if body.rfind(",") > body.rfind(".") else "."
        whole, _sep, fraction = body.rpartition(mark)
        whole = _whole(whole, "." if mark == "," else ",")
    elif commas + points == 0:
        whole, fraction = _whole(body, ""), ""
    else:
        mark = "," if commas else "."
        if commas + points > 1:
            whole, fraction = _whole(body, mark), ""
        else:
            whole, _sep, fraction = body.partition(mark)
            whole = whole or "0"
            if (
                mark != decimal_separator
                and len(fraction) == 3
                and whole.isdigit()
                and int(whole) != 0
            ):
                readings = (sign + whole + fraction, sign + whole + decimal_separator + fraction)
                raise AmbiguousNumber(text, readings)
    if not any(c.isdigit() for c in body) or (fraction and not fraction.isdigit()):
        raise ValueError(text)
    try:
        return Decimal(f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}")
    except InvalidOperation:
        raise ValueError(text) from None


class DecimalInputField(forms.DecimalField):
    """A ``DecimalField`` that reads a comma or a point (``decimal_parse``) and shows its
    value with the language's own separator; a text input with the decimal keypad on
    phones. An ambiguous text is refused with both readings named."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal | int):
            return Decimal(value)
        text = str(value).strip()
        if not text:
            return None
        try:
            return decimal_parse(text, decimal_separator=str(get_format("DECIMAL_SEPARATOR")))
        except AmbiguousNumber as exc:
            whole, fraction = exc.readings
            raise ValidationError(
                _("“%(value)s” could mean %(whole)s or %(fraction)s: type one of those."),
                code="ambiguous",
                params={"value": text, "whole": whole, "fraction": fraction},
            ) from None
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
