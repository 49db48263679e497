"""Text a person types on one line: names, titles, phone numbers.

A name ends up in places that treat a line break or a control character as structure: a
mail header (``Fam\\r\\nBcc: x@y``), a PDF, a CSV export, a log line. ``plain_line`` refuses
them where the text comes in, so every service that stores a one-line field asks it and the
web forms and the API refuse alike, with the field named.

Refused: the C0 controls (tab and line breaks included), DEL, the C1 controls and the Unicode
line and paragraph separators. Everything else a person may write in a name (accents, other
scripts, emoji, quotes) is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from django.utils.translation import gettext as _

from pawfile.lib.errors import Invalid

_CONTROLS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"  # escapes that re and JSON schema read alike
_NOT_ON_ONE_LINE = re.compile(f"[{_CONTROLS}]")
# The same rule as a JSON-schema ``pattern``, for API inputs that describe it.
PLAIN_LINE_PATTERN = f"^[^{_CONTROLS}]*$"


def plain_line_problem(value: object) -> str | None:
    """The message that refuses ``value``, or ``None`` when it is fine (not a string is fine:
    the caller's own checks judge its type)."""
    if isinstance(value, str) and _NOT_ON_ONE_LINE.search(value):
        return _("Use one line of plain text: no line breaks, tabs or control characters.")
    return None


def plain_line(value: str, *, field: str) -> str:
    """Return ``value`` if it is one line of plain text; raise ``Invalid`` about ``field``
    otherwise (see the module docstring)."""
    problem = plain_line_problem(value)
    if problem:
        raise Invalid(problem, code="not_one_line", field=field)
    return value


def plain_lines(values: Mapping[str, object], names: Iterable[str]) -> None:
    """Check each of ``names`` present in ``values``; raise one ``Invalid`` naming every
    field that is not one line of plain text, or return ``None``."""
    errors: dict[str, list[str]] = {}
    for name in names:
        problem = plain_line_problem(values.get(name))
        if problem:
            errors[name] = [problem]
    if errors:
        raise Invalid(code="not_one_line", fields=errors)
