"""Due status of vaccinations and dewormings: the one rule the web pages, the API and the PDF
report all use.

A pet's vaccinations and dewormings are grouped by kind and name (the vaccine or product,
case and surrounding spaces ignored). The latest of each group (by date, then by id) is
*current*; the others are ``replaced`` — a booster supersedes the shot before, whatever the
old record's next due date says. A current record is ``overdue`` when its next due date is
before today, ``due_soon`` within ``PAWFILE_DUE_SOON_DAYS`` days, ``up_to_date`` after that,
and ``none`` without a next due date.

``today`` is always the caller's: the date in the zone of the person who looks
(``pawfile.lib.dates.user_today``), computed once per request and passed down. Nothing here
reads the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from pawfile.health.choices import DUE_KINDS, DueStatus
from pawfile.health.models import HealthRecord

SEVERITY = {
    DueStatus.REPLACED: 0, DueStatus.NONE: 0, DueStatus.UP_TO_DATE: 1, DueStatus.DUE_SOON: 2,
    DueStatus.OVERDUE: 3,
}  # fmt: skip


def due_status(
    next_due: dt.date | None, *, today: dt.date, soon_days: int | None = None
) -> DueStatus:
    """The status a current record with this next due date has on ``today``."""
    if next_due is None:
        return DueStatus.NONE
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

    @property
    def current(self) -> bool:
        """False when a later record of the same vaccine/product replaced this one."""
        return self.status != DueStatus.REPLACED


def _group(record: HealthRecord) -> tuple[str, str]:
    return (record.kind, record.name.strip().lower())


def due_items(records: Iterable[HealthRecord], *, today: dt.date) -> list[DueItem]:
    """Every vaccination and deworming among ``records`` with its status on ``today``.

    ``records`` must hold, for each record asked about, every later record of its pet and
    kind (all of a pet's vaccinations and dewormings will do), or a replaced record would
    look current; other kinds are skipped. Current items come first,
    worst first (then by next due date); replaced ones follow, newest first.
    """
    records = [r for r in records if r.kind in DUE_KINDS]
    latest: dict[tuple[int, str, str], HealthRecord] = {}
    for record in records:
        key = (record.pet_id, *_group(record))
        seen = latest.get(key)
        if seen is None or (record.date, record.pk) > (seen.date, seen.pk):
            latest[key] = record
    current = {r.pk for r in latest.values()}
    items = [
        DueItem(r, due_status(r.next_due, today=today) if r.pk in current else DueStatus.REPLACED)
        for r in records
    ]
    # Current worst first, then by next due date; replaced last, newest first.
    items.sort(key=lambda i: (i.record.date, i.record.pk), reverse=True)
    items.sort(
        key=lambda i: (
            not i.current,
            -SEVERITY[i.status],
            (i.record.next_due or dt.date.max) if i.current else dt.date.max,
        )
    )
    return items


def current_due_items(records: Iterable[HealthRecord], *, today: dt.date) -> list[DueItem]:
    """The current items of ``due_items`` (one per vaccine/product), worst first."""
    return [item for item in due_items(records, today=today) if item.current]


def pet_due_summary(items: Iterable[DueItem]) -> DueStatus:
    """The worst status among the current items (``none`` when there are none)."""
    worst = DueStatus.NONE
    for item in items:
        if item.current and SEVERITY[item.status] > SEVERITY[worst]:
            worst = item.status
    return worst
