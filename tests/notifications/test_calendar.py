"""The calendar feed: a secret address per person, valid RFC 5545 parsed back by icalendar,
due dates of the pets they may see, other apps' events through the source registry, ETag,
and a new address that revokes the old one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from icalendar import Calendar

from pawfile.health import services as health_services
from pawfile.notifications import calendar
from pawfile.notifications.calendar import CalendarEvent
from pawfile.notifications.models import CalendarFeed
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def feed_path(client: Client) -> str:
    client.post("/notifications/calendar/new")
    return "/cal/" + CalendarFeed.objects.get().token + ".ics"


def test_the_feed_lists_due_dates_with_etag_and_a_new_address_revokes_the_old(
    cast: Cast, pet
) -> None:
    today = dt.date.today()
    health_services.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name="Rabies",
        date=today - dt.timedelta(days=300), next_due=today + dt.timedelta(days=65),
    )  # fmt: skip
    alice = cast.client_for("alice")
    path = feed_path(alice)
    assert path.encode() in alice.get("/notifications/settings/").content

    anonymous = Client()
    response = anonymous.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    parsed = Calendar.from_ical(response.content)
    events = [c for c in parsed.walk("VEVENT")]
    assert [str(e["SUMMARY"]) for e in events] == ["Rex: Rabies vaccination due"]
    assert events[0].decoded("DTSTART") == today + dt.timedelta(days=65)
    assert anonymous.get(path, headers={"If-None-Match": response["ETag"]}).status_code == 304

    alice.post("/notifications/calendar/new")
    assert anonymous.get(path).status_code == 404  # the old address is revoked
    assert anonymous.get("/cal/not-a-token.ics").status_code == 404


def test_a_stranger_gets_no_events_of_pets_they_cannot_see(cast: Cast, pet) -> None:
    health_services.record_create(
        actor=cast.alice, pet=pet, kind="deworming", name="Milbemax",
        next_due=dt.date.today() + dt.timedelta(days=30),
    )  # fmt: skip
    body = Client().get(feed_path(cast.client_for("charlie"))).content
    assert list(Calendar.from_ical(body).walk("VEVENT")) == []


def test_other_apps_add_recurring_events_with_alarms(cast: Cast) -> None:
    def pills(user, today):
        yield CalendarEvent(
            uid="reminder-1@test", summary="Pill for Rex",
            start=dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC),
            rrule={"FREQ": "DAILY", "COUNT": 10}, alarms=(dt.timedelta(minutes=15),),
        )  # fmt: skip

    calendar.calendar_source_register(name="test-reminders", events=pills)
    try:
        body = calendar.calendar_render(user=cast.alice, today=dt.date(2026, 3, 1))
    finally:
        calendar._SOURCES.pop("test-reminders")
    (event,) = Calendar.from_ical(body).walk("VEVENT")
    assert dict(event["RRULE"]) == {"FREQ": ["DAILY"], "COUNT": [10]}
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -dt.timedelta(minutes=15)


def test_making_an_address_needs_a_sign_in_and_a_post(cast: Cast) -> None:
    assert Client().post("/notifications/calendar/new").status_code == 302
    assert cast.client_for("alice").get("/notifications/calendar/new").status_code == 405
    assert not CalendarFeed.objects.exists()
