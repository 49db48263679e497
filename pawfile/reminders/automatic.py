"""Reminders that follow health records: a vaccination's or deworming's next due date, a
medication's schedule.

Health does not import reminders: ``health.services`` sends ``health.hooks.record_changed``
inside the transaction that creates, changes or deletes a record, and ``record_follow``
(connected in ``RemindersConfig.ready``) creates, moves or removes the record's one reminder
in that same transaction.

* vaccination, deworming with ``next_due``: once, on that date at ``DUE_TIME`` local,
  ``DUE_LEAD`` ahead; no ``next_due``, no reminder;
* medication: from the record's date until its ``end_date``, as its ``frequency`` says
  (``medication_rule``: "daily", "twice a day", "every 8 hours", "every 2 days", "weekly",
  "monthly", their Spanish forms...); a frequency we cannot read makes no reminder (the
  record says so in its own words; nothing is guessed).

What a person changed on the reminder (time of day, lead time, channels, assignee, pause)
stays when the record moves it; its date and repetition always follow the record. The zone
is that of whoever made the record, when the reminder is made.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from pawfile.accounts.models import zone_name_canonical
from pawfile.health.choices import Kind
from pawfile.health.models import HealthRecord
from pawfile.reminders import services
from pawfile.reminders.choices import Source
from pawfile.reminders.models import Reminder

DUE_TIME = dt.time(9, 0)
DUE_LEAD = 7 * 24 * 60  # a week ahead: time to book the vet
DOSE_TIME = dt.time(9, 0)

_DAILY = r"(once )?(a |per |each )?day|daily|every ?day|1 ?x ?(a |per )?day|once daily|q24h|sid"
_DAILY_ES = r"diari[oa]|cada d[ií]a|una vez al d[ií]a|1 vez al d[ií]a"
# (pattern, rule, time of the first dose); {n} is the number the pattern caught.
MEDICATION_PATTERNS: tuple[tuple[str, str, dt.time], ...] = (
    (rf"^({_DAILY}|{_DAILY_ES})$", "FREQ=DAILY;INTERVAL=1", DOSE_TIME),
    (
        r"^(twice (a |per )?day|twice daily|2 ?x ?(a |per )?day|bid|b\.i\.d\.|every 12 ?h(ours)?"
        r"|q12h|dos veces al d[ií]a|cada 12 ?h(oras)?)$",
        "FREQ=DAILY;INTERVAL=1;BYHOUR=8,20;BYMINUTE=0",
        dt.time(8, 0),
    ),
    (
        r"^(three times (a |per )?day|3 ?x ?(a |per )?day|tid|t\.i\.d\.|every 8 ?h(ours)?|q8h"
        r"|tres veces al d[ií]a|cada 8 ?h(oras)?)$",
        "FREQ=DAILY;INTERVAL=1;BYHOUR=6,14,22;BYMINUTE=0",
        dt.time(6, 0),
    ),
    (r"^(every|cada) (\d{1,2}) ?(hours?|h|horas?)$", "FREQ=HOURLY;INTERVAL={n}", DOSE_TIME),
    (r"^(every|cada) (\d{1,3}) ?(days?|d[ií]as?)$", "FREQ=DAILY;INTERVAL={n}", DOSE_TIME),
    (
        r"^(weekly|once a week|every ?week|semanal|una vez a la semana|cada semana)$",
        "FREQ=WEEKLY;INTERVAL=1",
        DOSE_TIME,
    ),
    (r"^(every|cada) (\d{1,2}) ?(weeks?|semanas?)$", "FREQ=WEEKLY;INTERVAL={n}", DOSE_TIME),
    (
        r"^(monthly|once a month|every ?month|mensual|una vez al mes|cada mes)$",
        "FREQ=MONTHLY;INTERVAL=1",
        DOSE_TIME,
    ),
)


@dataclass(frozen=True)
class Plan:
    """The reminder a record asks for."""

    source: str
    title: str
    start_date: dt.date
    start_time: dt.time
    rule: str
    lead_minutes: int


def medication_rule(frequency: str) -> tuple[str, dt.time] | None:
    """The RRULE value and first dose time for a medication's ``frequency`` text, or
    ``None`` when it is not one we read."""
    text = " ".join(frequency.lower().replace("×", "x").split())
    for pattern, rule, first in MEDICATION_PATTERNS:
        match = re.match(pattern, text)
        if match is None:
            continue
        numbers = [g for g in match.groups() if g and g.isdigit()]
        if "{n}" in rule:
            n = int(numbers[0]) if numbers else 0
            if n < 1 or ("HOURLY" in rule and n > 24):
                return None
            rule = rule.replace("{n}", str(n))
        return rule, first
    return None


# The kinds of record that can ask for a reminder (``record_plan``).
FOLLOWED_KINDS = (Kind.VACCINATION, Kind.DEWORMING, Kind.MEDICATION)


def record_plan(record: HealthRecord) -> Plan | None:
    """The automatic reminder ``record`` asks for, or ``None``."""
    name = record.name or record.get_kind_display()
    if record.kind in (Kind.VACCINATION, Kind.DEWORMING):
        if record.next_due is None:
            return None
        source = Source.VACCINATION if record.kind == Kind.VACCINATION else Source.DEWORMING
        return Plan(
            source=source, title=(_("%(name)s due") % {"name": name})[:120],
            start_date=record.next_due,
            start_time=DUE_TIME, rule="", lead_minutes=DUE_LEAD,
        )  # fmt: skip
    if record.kind == Kind.MEDICATION:
        found = medication_rule(record.frequency or "")
        if found is None:
            return None
        rule, first = found
        if record.end_date is not None:
            rule += ";UNTIL=" + record.end_date.strftime("%Y%m%dT235959")
        title = _("Give %(name)s") % {"name": name}
        if record.dose:
            title = _("Give %(name)s (%(dose)s)") % {"name": name, "dose": record.dose}
        return Plan(
            source=Source.MEDICATION, title=title[:120], start_date=record.date,
            start_time=first, rule=rule, lead_minutes=0,
        )  # fmt: skip
    return None


def record_follow(
    sender: Any,
    *,
    record: HealthRecord,
    created: bool = False,
    deleted: bool = False,
    **kwargs: Any,
) -> None:
    """``health.hooks.record_changed`` receiver: make the record's reminder match it. A
    record just created has no reminder yet (nothing is looked up); it reaches here only
    when it asks for one (``record_wants_reminder``)."""
    existing = None if created else Reminder.objects.filter(record_id=record.pk).first()
    plan = None if deleted else record_plan(record)
    if plan is None:
        if existing is not None:
            existing.delete()
        return
    now = timezone.now()
    reminder = existing or Reminder(
        household_id=record.pet.household_id,
        pet_id=record.pet_id,
        record=record,
        created_by_id=record.created_by_id,
        start_time=plan.start_time,
        lead_minutes=plan.lead_minutes,
        timezone=_zone_name(record),
    )
    moved = existing is None or (existing.start_date, existing.rule) != (
        plan.start_date,
        plan.rule,
    )
    reminder.source, reminder.title = plan.source, plan.title
    reminder.start_date, reminder.rule = plan.start_date, plan.rule
    if plan.rule != (existing.rule if existing else None) and plan.source == Source.MEDICATION:
        reminder.start_time = plan.start_time  # BYHOUR rules start at their first dose
    if moved:
        services.schedule_reset(reminder, now=now)
    reminder.save()


def record_wants_reminder(record: HealthRecord) -> bool:
    """For a new record: does it ask for a reminder? (``record_follow`` does nothing for
    one that does not, so its insert needs no transaction.)"""
    return record_plan(record) is not None


def _zone_name(record: HealthRecord) -> str:
    name = getattr(record.created_by, "timezone", "") or ""
    return (
        zone_name_canonical(name)
        or zone_name_canonical(timezone.get_default_timezone_name())
        or "UTC"
    )
