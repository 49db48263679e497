"""Firing many due reminders together: the same outcome as ``firing.reminder_fire`` for
each, in a fixed number of statements per chunk instead of about twenty-five per reminder.

``reminders_fire_batch(ids, now=...)`` runs in the tick's transaction (one per chunk):

1. one read of the reminders (with their pets); each is planned as ``_fire_regular``
   would: its new ``next_due_at``/``next_fire_at``. The rare cases (a snooze ending, an
   occurrence late past the grace, so ``missed`` rows) are left to ``firing.reminder_fire``,
   one by one, as before;
2. the claim: one conditional UPDATE for the whole chunk, ``WHERE (id = a AND
   next_fire_at = <a as read>) OR (id = b AND ...)``, setting each row's new schedule with
   ``CASE``. If it moves fewer rows than planned (another scheduler, or a person's change,
   got to one first), the chunk is rolled back to its savepoint and every reminder in it
   goes through ``firing.reminder_fire``, which finds out which claim it lost;
3. each pet's revision is bumped once; one read finds the occurrences settled ahead of
   time (done, skipped: nothing is sent for those), one INSERT writes the ``fired`` ones;
4. one read of the households' memberships gives the recipients (``firing.recipients``'s
   rule), and ``notifications.batch.notifications_send_many`` writes the notifications,
   deliveries and outbox rows in a few statements, queued after commit.

Crash safety is the tick's: everything above commits together or not at all, so a worker
killed mid-chunk leaves the chunk due, and the next tick fires it once; a worker killed
after the commit but before the queue got the outbox ids leaves rows the outbox sweeper
enqueues (``outbox_sweep``, a minute later). Re-running a chunk sends nothing twice: the
claim no longer matches, and the event keys and outbox keys are unique.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pawfile.accounts.choices import Role
from pawfile.accounts.models import Membership, User
from pawfile.lib import sqlrows
from pawfile.lib.dates import date_text, user_zone_override
from pawfile.notifications.batch import SendRequest, insert_rows, notifications_send_many
from pawfile.pets.services import pets_revision_bump
from pawfile.reminders import firing, services
from pawfile.reminders.choices import OccurrenceStatus
from pawfile.reminders.models import Occurrence, Reminder

log = logging.getLogger(__name__)


@dataclass
class _Plan:
    reminder: Reminder
    seen: dt.datetime  # next_fire_at as read: the claim's condition
    due: dt.datetime  # the occurrence being fired


class _LostRace(Exception):
    """The claim moved fewer rows than planned."""


def reminders_fire_batch(ids: list[int], *, now: dt.datetime, count: firing.FireCount) -> set[int]:
    """Fire what is due of the reminders ``ids`` at ``now`` (see the module docstring),
    inside the caller's transaction. Returns the ids this call could not move (nothing
    due, another scheduler got there first, or firing raised: logged and left for the
    next tick)."""
    plans: list[_Plan] = []
    one_by_one: list[int] = []
    stuck = set(ids)  # less what is fired below (a reminder deleted meanwhile stays here)
    following: dict[tuple[Any, ...], dt.datetime | None] = {}
    for reminder in Reminder.objects.select_related("pet").filter(pk__in=ids).order_by("pk"):
        plan = _plan(reminder, now=now, following=following)
        if plan is not None:
            plans.append(plan)
            stuck.discard(reminder.pk)
        elif reminder.next_fire_at is not None and reminder.next_fire_at <= now:
            one_by_one.append(reminder.pk)  # due, but a case for the one-by-one path
            stuck.discard(reminder.pk)
    if plans:
        try:
            with transaction.atomic():
                count.fired += _fire(plans, now=now)
        except Exception as exc:
            if not isinstance(exc, _LostRace):
                log.exception("reminders: firing a batch of %d failed; one by one", len(plans))
            one_by_one += [p.reminder.pk for p in plans]
    for reminder_id in one_by_one:
        if not firing.fire_guarded(reminder_id, now=now, count=count):
            stuck.add(reminder_id)
    return stuck


def _plan(
    reminder: Reminder, *, now: dt.datetime, following: dict[tuple[Any, ...], dt.datetime | None]
) -> _Plan | None:
    """The regular firing of ``reminder`` with its new schedule set on it (not saved), or
    ``None`` when it is not due, or is a case ``firing.reminder_fire`` handles alone.

    ``following`` memoises the next occurrence per (start, rule, zone, current due): the
    expansion is pure, and many reminders of a tick share all four (one daily pill at 09:00
    for thousands of pets), so it runs once per group rather than once per reminder."""
    seen, due = reminder.next_fire_at, reminder.next_due_at
    if seen is None or seen > now or due is None:
        return None
    if reminder.snoozed_until is not None and reminder.snoozed_until <= now:
        return None  # a snooze ending
    if now - seen > firing.grace():
        return None  # missed: listed by the one-by-one path
    group = (reminder.start_date, reminder.start_time, reminder.rule, reminder.timezone, due)
    if group not in following:
        following[group] = services.occurrence_after(reminder, due)
    after = following[group]
    if after is not None and after - services.lead_of(reminder) < now - firing.grace():
        return None  # more missed ones behind it
    reminder.next_due_at = after
    reminder.next_fire_at = firing.next_fire(reminder, now=now)
    return _Plan(reminder=reminder, seen=seen, due=due)


def _fire(plans: list[_Plan], *, now: dt.datetime) -> int:
    """Claim, record and notify (steps 2 to 4); returns how many were sent."""
    _claim(plans)
    # the pet page lists its reminders
    pets_revision_bump(p.reminder.pet_id for p in plans if p.reminder.pet_id is not None)
    settled = _settled(plans)
    to_send = [p for p in plans if (p.reminder.pk, p.due) not in settled]
    insert_rows(
        Occurrence,
        ("reminder", "due_at", "status", "fired_at", "snoozed_until", "by", "at"),
        [(p.reminder.pk, p.due, OccurrenceStatus.FIRED, now, None, None, now) for p in to_send],
    )
    notifications_send_many(_requests(to_send))
    return len(to_send)


def _settled(plans: list[_Plan]) -> set[tuple[int, dt.datetime]]:
    """The (reminder id, due instant) of ``plans`` that have an occurrence row already
    (settled ahead of time: done, skipped).

    On PostgreSQL one probe of the ``occurrence_once`` unique index per plan (a LATERAL
    subquery with ``LIMIT 1``, which the planner cannot turn into a hash join over the
    table), so a chunk costs the same however many occurrences exist: with ``IN`` lists of
    ids and instants PostgreSQL read the whole table for every chunk, and a burst of
    reminders grows the table as it fires (the tick's database time per reminder grew with
    the burst). Elsewhere the ``IN`` lists (SQLite probes the index for each value)."""
    if connection.vendor != "postgresql":
        asked = {(p.reminder.pk, p.due) for p in plans}
        rows = Occurrence.objects.filter(
            reminder_id__in={pk for pk, _due in asked}, due_at__in={due for _pk, due in asked}
        ).values_list("reminder_id", "due_at")
        return {row for row in rows if row in asked}
    table = sqlrows.table(Occurrence)
    reminder, due = sqlrows.name(Occurrence, "reminder"), sqlrows.name(Occurrence, "due_at")
    sql = (
        "SELECT v.r, v.d FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(r, d) "  # noqa: S608 - names from the model
        f"CROSS JOIN LATERAL (SELECT 1 FROM {table} AS o WHERE o.{reminder} = v.r "
        f"AND o.{due} = v.d LIMIT 1) AS found"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [[p.reminder.pk for p in plans], [p.due for p in plans]])
        return {(r, d) for r, d in cursor.fetchall()}


def _claim(plans: list[_Plan]) -> None:
    """One conditional UPDATE moving every planned row on; raises ``_LostRace`` when any
    row's ``next_fire_at`` is no longer what was read.

    Hand-written as ``UPDATE ... FROM (VALUES (id, seen, new fire, new due), ...)``
    (SQLite since 3.33; on PostgreSQL ``unnest`` of one array per column): the ORM's
    ``Case(When(...))`` over a few hundred rows costs more to build, and the database more
    to plan, than the rest of the batch."""
    ops = connection.ops
    table = sqlrows.table(Reminder)
    fields = ("next_fire_at", "next_due_at", "updated_at", "id")
    fire, due, updated, pk = (sqlrows.name(Reminder, field) for field in fields)
    params: list[Any] = [ops.adapt_datetimefield_value(timezone.now())]
    if connection.vendor == "postgresql":
        # One array per column: the same short text for every chunk, which the driver parses
        # once (a VALUES list of a thousand ``%s`` is parsed again on every call).
        rows = (
            "SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], "
            "%s::timestamptz[]) AS v(column1, column2, column3, column4)"
        )
        params += [
            [p.reminder.pk for p in plans],
            [p.seen for p in plans],
            [p.reminder.next_fire_at for p in plans],
            [p.reminder.next_due_at for p in plans],
        ]
    else:
        # SQLite names the columns of VALUES column1, column2...
        rows = "VALUES " + ", ".join(["(%s, %s, %s, %s)"] * len(plans))
        for p in plans:
            params += [
                p.reminder.pk,
                ops.adapt_datetimefield_value(p.seen),
                ops.adapt_datetimefield_value(p.reminder.next_fire_at),
                ops.adapt_datetimefield_value(p.reminder.next_due_at),
            ]
    sql = (
        f"UPDATE {table} SET {fire} = v.column3, {due} = v.column4, "  # noqa: S608 - names from the model
        f"{updated} = %s FROM ({rows}) AS v "
        f"WHERE {table}.{pk} = v.column1 AND {table}.{fire} = v.column2"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        moved = cursor.rowcount
    if moved != len(plans):
        raise _LostRace()


def _requests(plans: list[_Plan]) -> list[SendRequest]:
    """One notification request per recipient of each plan (``firing.recipients``'s rule:
    the assignee while a member, else the household's active owners and caretakers)."""
    members: dict[int, list[Membership]] = defaultdict(list)
    rows = Membership.objects.filter(household_id__in={p.reminder.household_id for p in plans})
    for membership in rows.select_related("user").order_by("pk"):
        members[membership.household_id].append(membership)
    bodies: dict[tuple[str, str, dt.datetime, str | None], str] = {}
    links = _Links()
    requests = []
    for p in plans:
        reminder = p.reminder
        key = firing._key(reminder, p.due)
        for user in _recipients(reminder, members[reminder.household_id]):
            pet_name = reminder.pet.name if reminder.pet is not None else None
            text_key = (user.locale or "", user.timezone or "", p.due, pet_name)
            if text_key not in bodies:
                bodies[text_key] = _body(user, due=p.due, pet_name=pet_name)
            requests.append(SendRequest(
                recipient=user, kind=firing.NOTIFICATION_KIND, title=reminder.title,
                body=bodies[text_key], link=links.get(reminder.pet_id), pet=reminder.pet,
                event_key=key, channels=tuple(reminder.channels) or None,
            ))  # fmt: skip
    return requests


class _Links:
    """The address each notification links to (``firing._notify``'s): a pet's reminders, or
    the household's. ``reverse`` costs about as much as the rest of a reminder's firing, so
    the pet address is reversed once, for a stand-in id, and each pet's id put in its place;
    when the stand-in does not appear exactly once in it, each pet is reversed."""

    STAND_IN = 987654321987

    def __init__(self) -> None:
        self.household = reverse("reminders:list")
        pattern = reverse("reminders:pet_list", kwargs={"pet_id": self.STAND_IN})
        self.parts = (
            pattern.split(str(self.STAND_IN)) if pattern.count(str(self.STAND_IN)) == 1 else None
        )

    def get(self, pet_id: int | None) -> str:
        if not pet_id:
            return self.household
        if self.parts is None:
            return reverse("reminders:pet_list", kwargs={"pet_id": pet_id})
        return f"{self.parts[0]}{pet_id}{self.parts[1]}"


def _recipients(reminder: Reminder, members: list[Membership]) -> list[User]:
    if reminder.assignee_id is not None:
        assigned = [m.user for m in members if m.user_id == reminder.assignee_id]
        if assigned:
            return assigned
    writers = (Role.OWNER, Role.CARETAKER)
    return [m.user for m in members if m.role in writers and m.user.is_active]


def _body(user: User, *, due: dt.datetime, pet_name: str | None) -> str:
    with translation.override(user.locale or settings.LANGUAGE_CODE), user_zone_override(user):
        when = date_text(due)
        if pet_name is not None:
            return _("%(pet)s: due %(when)s") % {"pet": pet_name, "when": when}
        return _("Due %(when)s") % {"when": when}
