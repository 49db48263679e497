"""The calendar feed: ``/cal/<token>.ics``, one per person, valid RFC 5545 (icalendar).

Apps contribute events through ``calendar_source_register`` (from their ``AppConfig.ready``;
the reminders app adds its reminders, with ``RRULE`` and ``VALARM``), so this module imports
none of them. Health's due dates (vaccinations, dewormings) are registered here, since
health sits below notifications. A source takes the user and their today and returns
``CalendarEvent``s of what that user may see.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, override

from pawfile.accounts.models import User
from pawfile.lib.dates import user_today
from pawfile.notifications.models import CalendarFeed
from pawfile.pets.services import member_pets_revision_bump


@dataclass(frozen=True)
class CalendarEvent:
    """One event: ``start`` a date (all day) or an aware datetime; ``rrule`` an RFC 5545
    recurrence as icalendar's dict form (``{"FREQ": "DAILY"}``); ``alarms`` are how long
    before the start to remind."""

    uid: str
    summary: str
    start: dt.date | dt.datetime
    description: str = ""
    url: str = ""
    rrule: dict[str, Any] | None = None
    alarms: tuple[dt.timedelta, ...] = field(default_factory=tuple)
    # Occurrences of ``rrule`` left out (``exdates``, in the zone of ``start``) and added
    # (``rdates``, any aware instants): a skipped occurrence, a snoozed one moved.
    exdates: tuple[dt.datetime, ...] = field(default_factory=tuple)
    rdates: tuple[dt.datetime, ...] = field(default_factory=tuple)
    # The pet it is about (``None``: the household as a whole), for the per-pet feed.
    pet_id: int | None = None


Source = Callable[[User, dt.date], Iterable[CalendarEvent]]
_SOURCES: dict[str, Source] = {}


def calendar_source_register(*, name: str, events: Source) -> None:
    """Add (or replace) the source ``name``."""
    _SOURCES[name] = events


def _host() -> str:
    return urlsplit(settings.PAWFILE_BASE_URL).hostname or "localhost"


# --- Tokens ------------------------------------------------------------------------------------


def calendar_feed_get(*, user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user).first()


def calendar_token_regenerate(*, user: User) -> CalendarFeed:
    """Give ``user`` a new secret address; the old one stops working at once. Their pet
    pages link it (a ``per_user`` panel, cached by the pets' revisions), so those move."""
    with transaction.atomic():
        feed, _created = CalendarFeed.objects.update_or_create(
            user=user,
            defaults={"token": secrets.token_urlsafe(32), "created_at": timezone.now()},
        )
        member_pets_revision_bump(user.pk)
    return feed


def calendar_urls(feed: CalendarFeed) -> tuple[str, str]:
    """The feed's https (or http) address and its ``webcal://`` twin."""
    url = f"{settings.PAWFILE_BASE_URL}/cal/{feed.token}.ics"
    return url, "webcal://" + url.split("://", 1)[1]


def calendar_user(*, token: str) -> User | None:
    """Whose feed ``token`` opens (active accounts only), else ``None``."""
    feed = CalendarFeed.objects.filter(token=token).select_related("user").first()
    if feed is None or not feed.user.is_active:
        return None
    return feed.user


# --- The feed ----------------------------------------------------------------------------------


def calendar_render(
    *, user: User, today: dt.date | None = None, pet_id: int | None = None
) -> bytes:
    """The ``.ics`` of every registered source for ``user``, in their language; with
    ``pet_id``, only the events about that pet (the per-pet feed, ``?pet=<id>``)."""
    from icalendar import Alarm, Calendar, Event

    today = today or user_today(user)
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.PAWFILE_SITE_NAME}//Pawfile//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", settings.PAWFILE_SITE_NAME)
    stamp = timezone.now().replace(microsecond=0, second=0, minute=0)
    with override(user.locale or None):
        events = [e for source in _SOURCES.values() for e in source(user, today)]
    if pet_id is not None:
        events = [e for e in events if e.pet_id == pet_id]
    for item in sorted(events, key=lambda e: e.uid):
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("summary", item.summary)
        event.add("dtstart", item.start)
        if isinstance(item.start, dt.datetime):
            event.add("dtend", item.start + dt.timedelta(minutes=30))
        else:
            event.add("dtend", item.start + dt.timedelta(days=1))
        if item.description:
            event.add("description", item.description)
        if item.url:
            event.add("url", item.url)
        if item.rrule:
            event.add("rrule", item.rrule)
        if item.exdates:
            event.add("exdate", list(item.exdates))
        if item.rdates:
            event.add("rdate", list(item.rdates))
        for before in item.alarms:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", item.summary)
            alarm.add("trigger", -before)
            event.add_component(alarm)
        calendar.add_component(event)
    calendar.add_missing_timezones()  # a VTIMEZONE for each TZID used (reminders' zones)
    return bytes(calendar.to_ical())


def calendar_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


# --- Health's due dates ----------------------------------------------------------------------


def health_due_events(user: User, today: dt.date) -> list[CalendarEvent]:
    """The next due date of each current vaccination and deworming of ``user``'s pets."""
    from pawfile.health.choices import Kind as RecordKind
    from pawfile.health.selectors import due_items_by_pet
    from pawfile.pets.selectors import pet_list

    pets = {pet.pk: pet for pet in pet_list(user=user)}
    events = []
    for pet_id, items in due_items_by_pet(pet_ids=list(pets), today=today).items():
        for item in items:
            record = item.record
            if not item.current or record.next_due is None:
                continue
            if record.kind == RecordKind.VACCINATION:
                text = gettext("%(pet)s: %(vaccine)s vaccination due")
            else:
                text = gettext("%(pet)s: deworming (%(vaccine)s) due")
            events.append(
                CalendarEvent(
                    uid=f"health-{record.pk}-{record.next_due.isoformat()}@{_host()}",
                    summary=text % {"pet": pets[pet_id].name, "vaccine": record.name},
                    start=record.next_due,
                    url=f"{settings.PAWFILE_BASE_URL}/pets/{pet_id}/",
                    pet_id=pet_id,
                )
            )
    return events


def register() -> None:
    calendar_source_register(name="health", events=health_due_events)
