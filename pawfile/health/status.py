"""Due status of vaccinations and dewormings, per record and per pet.

Only the latest record of each vaccine/product counts: a booster supersedes the shot before.
A record is overdue when its next due date has passed, due soon within
``PAWFILE_DUE_SOON_DAYS`` days, up to date otherwise; without a next due date it has none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from pawfile.health.choices import DUE_KINDS, DueStatus
from pawfile.health.models import HealthRecord

SEVERITY = {DueStatus.NONE: 0, DueStatus.UP_TO_DATE: 1, DueStatus.DUE_SOON: 2, DueStatus.OVERDUE: 3}


def due_status(
    next_due: dt.date | None, *, today: dt.date | None = None, soon_days: int | None = None
) -> DueStatus:
    if next_due is None:
        return DueStatus.NONE
    today = today or timezone.localdate()
    soon = settings.PAWFILE_DUE_SOON_DAYS if soon_days is None else soon_days
    if next_due < today:
        return DueStatus.OVERDUE
    if next_due <= today + dt.timedelta(days=soon):
        return DueStatus.DUE_SOON
    return DueStatus.UP_TO_DATE


@dataclass(frozen=True)
class DueItem:
    record: HealthRecord
    status: DueStatus


def current_due_items(
    records: Iterable[HealthRecord], *, today: dt.date | None = None
) -> list[DueItem]:
    """The latest vaccination/deworming per (kind, name), with its status; worst first."""
    latest: dict[tuple[str, str], HealthRecord] = {}
    for record in records:
        if record.kind not in DUE_KINDS:
            continue
        key = (record.kind, record.name.strip().lower())
        seen = latest.get(key)
        if seen is None or (record.date, record.pk) > (seen.date, seen.pk):
            latest[key] = record
    items = [DueItem(r, due_status(r.next_due, today=today)) for r in latest.values()]
    return sorted(items, key=lambda i: (-SEVERITY[i.status], i.record.next_due or dt.date.max))


def pet_due_summary(items: list[DueItem]) -> DueStatus:
    """The worst status among the pet's current items (``none`` when it has none)."""
    worst = DueStatus.NONE
    for item in items:
        if SEVERITY[item.status] > SEVERITY[worst]:
            worst = item.status
    return worst
