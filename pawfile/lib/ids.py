"""Row ids that come from outside: URL paths and form values.

Ids are 64-bit signed integers in the database; a number past 2^63 - 1 makes SQLite raise
``OverflowError`` (and PostgreSQL a ``DataError``) before any row is looked at, which would
be a 500. The API refuses such ids through its ``Id`` type; web pages use these two:

- the URL path converter ``<id:pet_id>`` (registered here with Django when this module is
  imported; every ``urls.py`` imports it): matches 1 … 2^63 - 1 only, so anything else is
  no match, a 404, like an id that does not exist;
- ``IdModelChoiceField`` / ``IdModelMultipleChoiceField``: a value out of range is the
  field's "not one of the choices" error, never a query.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import register_converter

MAX_ID = 2**63 - 1


def id_in_range(value: object) -> int | None:
    """``value`` (an int or its decimal text) as an id if it is one in 1 … 2^63 - 1, else
    ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 19:
            return None
        value = int(text)
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    return None


class IdConverter:
    """``<id:name>``: a positive 64-bit id; anything else does not match (404)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = id_in_range(value)
        if number is None:
            raise ValueError(value)  # Django: this pattern does not match
        return number

    def to_url(self, value: int | str) -> str:
        return str(int(value))


register_converter(IdConverter, "id")


class IdModelChoiceField(forms.ModelChoiceField):
    """A ``ModelChoiceField`` over integer primary keys that refuses out-of-range ids as
    invalid choices instead of querying with them."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and id_in_range(value) is None:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return super().to_python(value)


class IdModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A ``ModelMultipleChoiceField`` over integer primary keys that refuses out-of-range
    ids as invalid choices instead of querying with them."""

    def _check_values(self, value: Any) -> Any:
        try:
            values = frozenset(value)
        except TypeError:
            return super()._check_values(value)  # type: ignore[misc]
        for item in values:
            if id_in_range(item) is None:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": item},
                )
        return super()._check_values(value)  # type: ignore[misc]
