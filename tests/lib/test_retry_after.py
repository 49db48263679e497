"""``Retry-After`` as providers send it: whole seconds or an HTTP date (RFC 9110 10.2.3)."""

from __future__ import annotations

import datetime as dt

import pytest

from pawfile.lib.http import retry_after_seconds

NOW = dt.datetime(2026, 12, 3, 8, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Thu, 03 Dec 2026 08:05:00 GMT", 300.0),
        ("Thu, 03 Dec 2026 09:05:00 +0100", 300.0),  # an offset, read as such
        ("Thu, 03 Dec 2026 07:00:00 GMT", 0.0),  # already past: now
    ],
)
def test_seconds_and_http_dates_are_read(value: str, seconds: float) -> None:
    assert retry_after_seconds(value, now=NOW) == seconds


@pytest.mark.parametrize("value", [None, "", "-5", "1.5", "soon", "Thu, 99 Foo 2026"])
def test_anything_else_is_none_so_the_caller_keeps_its_backoff(value: str | None) -> None:
    assert retry_after_seconds(value, now=NOW) is None
