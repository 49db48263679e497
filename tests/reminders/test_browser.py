"""The reminders page in a real browser on a phone-sized screen, under the strict CSP: the
form makes a weekly reminder, the list shows it, Done records who did it; no page error."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from pawfile.reminders.models import Occurrence, Reminder
from tests.conftest import Cast

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_create_a_reminder_and_mark_it_done(page: Any, live_server: Any, cast: Cast, pet) -> None:
    from django.conf import settings

    cookie = cast.client_for("bob").cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(30_000)  # a loaded two-core machine
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))

    page.goto(f"/pets/{pet.pk}/")
    page.get_by_role("button", name="All reminders").click()
    page.get_by_role("button", name="Add a reminder").click()
    page.get_by_label("Title", exact=True).fill("Brush teeth")
    page.get_by_label("Date", exact=True).fill("2031-05-05")
    page.get_by_label("Time", exact=True).fill("20:00")
    page.get_by_label("Repeat").select_option("weekly")
    page.get_by_label("Monday").check()
    page.get_by_label("Thursday").check()
    page.get_by_label("Time zone").fill("Europe/Madrid")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("The reminder was saved.")).to_be_visible()
    expect(page.get_by_text("Every week · Monday, Thursday")).to_be_visible()
    reminder = Reminder.objects.get(title="Brush teeth")
    assert reminder.rule == "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TH"
    # nothing sent yet: Done settles the next time ahead of it
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_text("Marked done.")).to_be_visible()
    occurrence = Occurrence.objects.get(reminder=reminder)
    assert (occurrence.status, occurrence.by_id) == ("done", cast.bob.pk)
    assert errors == []
