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


def test_a_reminder_fires_into_the_open_page_is_read_and_snoozed(
    page: Any, live_server: Any, cast: Cast, pet
) -> None:
    """Made in the form, fired by the scheduler's tick while the pet page is open: the bell
    counts it without a reload, the inbox marks it read, and the reminder is snoozed an hour
    (the snooze brings it back once, an hour later)."""
    import datetime as dt

    from django.conf import settings
    from django.utils import timezone

    from pawfile.notifications.models import Notification
    from pawfile.reminders.firing import reminders_fire_due

    cookie = cast.client_for("bob").cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    soon = (timezone.now() + dt.timedelta(minutes=5)).astimezone(dt.UTC)
    page.goto(f"/pets/{pet.pk}/reminders/new/")
    page.get_by_label("Title", exact=True).fill("Heartworm pill")
    page.get_by_label("Date", exact=True).fill(soon.strftime("%Y-%m-%d"))
    page.get_by_label("Time", exact=True).fill(soon.strftime("%H:%M"))
    page.get_by_label("Repeat").select_option("daily")
    page.get_by_label("Time zone").fill("UTC")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The reminder was saved.")).to_be_visible()
    reminder = Reminder.objects.get(title="Heartworm pill")

    page.goto(f"/pets/{pet.pk}/")
    page.evaluate("window.notLoadedAgain = true")
    count = page.locator("[data-notification-count]")
    expect(count).to_be_hidden()
    page.wait_for_function(
        "performance.getEntriesByType('resource').some(e => e.name.includes('/notifications/live'))"
    )
    fired = reminders_fire_due(now=timezone.now() + dt.timedelta(minutes=6))  # the tick
    assert fired.fired == 1
    expect(count).to_have_text("1")  # live: no reload
    expect(page.locator("[data-notification-toast]")).to_contain_text("Heartworm pill")
    assert page.evaluate("window.notLoadedAgain") is True

    page.goto("/notifications/")
    item = page.locator("li.notification", has_text="Heartworm pill")
    item.get_by_role("button", name="Mark as read").click()
    expect(page.locator("li.notification-unread")).to_have_count(0)
    assert Notification.objects.get(recipient=cast.bob, kind="reminder").read_at is not None

    item = page.locator("li.notification", has_text="Heartworm pill")
    item.get_by_role("link", name="Heartworm pill").click()  # to the pet's reminders
    page.locator("li.reminder-row", has_text="Heartworm pill").get_by_role(
        "button", name="Snooze 1 h"
    ).click()
    expect(page.get_by_text("Snoozed.")).to_be_visible()
    reminder.refresh_from_db()
    assert reminder.snoozed_until is not None
    assert (
        dt.timedelta(minutes=55)
        < reminder.snoozed_until - timezone.now()
        < dt.timedelta(minutes=65)
    )
    again = reminders_fire_due(now=reminder.snoozed_until + dt.timedelta(seconds=1))
    assert again.fired == 1  # back once, an hour later
    assert errors == []
