"""Fixtures of the reminders tests: the cast (alice owns, bob cares, carol views, charlie is
a stranger), Rex, and a helper that makes a reminder through the service."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pawfile.reminders import services
from pawfile.reminders.models import Reminder

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def make_reminder(cast, pet):
    """``make_reminder(now=..., **fields)``: a reminder for Rex made by alice."""

    def make(*, now: dt.datetime, actor: Any = None, **fields: Any) -> Reminder:
        values: dict[str, Any] = {
            "title": "Pill",
            "start_date": dt.date(2026, 1, 1),
            "start_time": dt.time(9, 0),
            "timezone": "Europe/Madrid",
            "rule": "FREQ=DAILY;INTERVAL=1",
        }
        values.update(fields)
        return services.reminder_create(actor=actor or cast.alice, pet=pet, now=now, **values)

    return make


# The browser fixtures of ``tests/e2e`` for the reminders' own browser test.
from tests.e2e.conftest import browser, chromium_executable, page  # noqa: E402, F401
