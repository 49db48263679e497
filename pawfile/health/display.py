"""What the health pages show, apart from how they are served: timeline entries grouped by
month, the latest weight and its trend, the weight chart of a pet, a record's facts.

Callers have checked that the user may see the pet (``pets.selectors.pet_get``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import formats
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from pawfile.accounts.access import Action, access_of
from pawfile.accounts.models import User
from pawfile.health import selectors, services, status
from pawfile.health.chart import weight_chart_figure
from pawfile.health.choices import FIELDS, NAME_LABEL, DueStatus, Kind
from pawfile.health.models import HealthRecord
from pawfile.pets.models import Pet
from pawfile.pets.selectors import pet_checked


def can_write(user: User, pet: Pet) -> bool:
    """True when the access rule lets the user change the pet's records (no query for a pet
    the gate returned for this user)."""
    access = access_of(pet_checked(user=user, pet=pet))
    return access is not None and access.allows(Action.WRITE)


@dataclass(frozen=True)
class TimelineEntry:
    """A record as the timeline shows it. ``status`` is set on the current vaccination or
    deworming of its name; ``superseded`` on older ones (a booster replaced them)."""

    record: HealthRecord
    status: DueStatus | None = None
    superseded: bool = False
    weight: Decimal | None = None


@dataclass
class Month:
    month: dt.date
    entries: list[TimelineEntry] = field(default_factory=list)


@dataclass(frozen=True)
class WeightSummary:
    """The latest weight in the pet's unit and which way it went since the one before."""

    value: Decimal
    unit: str
    date: dt.date
    trend: str  # "up", "down", "same" or "" (a single weight)
    previous: Decimal | None


def due_statuses(
    user: User, pet: Pet, *, today: dt.date
) -> tuple[list[status.DueItem], dict[int, DueStatus]]:
    """The pet's current due items on ``today`` (worst first) and the status of each of its
    vaccinations and dewormings by record id, replaced ones included (``Http404`` when the
    user may not see the pet)."""
    pet_checked(user=user, pet=pet)
    items = selectors.due_items_by_pet(pet_ids=[pet.pk], today=today)[pet.pk]
    return [i for i in items if i.current], {i.record.pk: i.status for i in items}


def timeline_entry(record: HealthRecord, due: dict[int, DueStatus], unit: str) -> TimelineEntry:
    weight = None
    if record.kind == Kind.WEIGHT and record.weight_grams:
        weight = services.weight_from_grams(record.weight_grams, unit)
    replaced = due.get(record.pk) == DueStatus.REPLACED
    return TimelineEntry(
        record=record,
        status=None if replaced else due.get(record.pk),
        superseded=replaced,
        weight=weight,
    )


def months_of(entries: Iterable[TimelineEntry]) -> list[Month]:
    """Entries (newest first) grouped by calendar month, newest month first."""
    months: list[Month] = []
    for entry in entries:
        first = entry.record.date.replace(day=1)
        if not months or months[-1].month != first:
            months.append(Month(first))
        months[-1].entries.append(entry)
    return months


def weight_summary(series: list[tuple[dt.date, int]], unit: str) -> WeightSummary | None:
    if not series:
        return None
    day, grams = series[-1]
    previous = series[-2][1] if len(series) > 1 else None
    trend = ""
    if previous is not None:
        trend = "up" if grams > previous else "down" if grams < previous else "same"
    return WeightSummary(
        value=services.weight_from_grams(grams, unit),
        unit=unit,
        date=day,
        trend=trend,
        previous=services.weight_from_grams(previous, unit) if previous is not None else None,
    )


def pet_weight_chart(pet: Pet, series: list[tuple[dt.date, int]]) -> SafeString:
    """The weight chart of ``pet`` as a page shows it (``chart.weight_chart_figure``): wide
    and narrow drawings and a legend, or the message when there are fewer than two weights."""
    html = weight_chart_figure(
        series,
        pet.weight_unit,
        get_language() or "en",
        title=_("Weight of %(name)s") % {"name": pet.name},
        chart_id=f"weight-chart-{pet.pk}",
    )
    return mark_safe(html)  # noqa: S308 - weight_chart_figure escapes every piece of text


def record_facts(record: HealthRecord, unit: str) -> list[tuple[str, str]]:
    """``(label, text)`` of the record's filled-in fields, in form order, written the way the
    current language writes dates and numbers."""
    facts: list[tuple[str, str]] = []
    for name in FIELDS[record.kind]:
        value: Any = getattr(record, name)
        if value in (None, "") or name == "currency":
            continue
        label = str(HealthRecord._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
        if name == "name":
            label = str(NAME_LABEL.get(Kind(record.kind), label))
        elif name == "weight_grams":
            label = _("Weight")
            value = f"{formats.number_format(services.weight_from_grams(value, unit))} {unit}"
        elif name in ("deworming_scope", "severity"):
            value = getattr(record, f"get_{name}_display")()
        elif name == "cost":
            value = f"{formats.number_format(value, 2)} {record.currency}".strip()
        elif isinstance(value, dt.date):
            value = formats.date_format(value, "DATE_FORMAT")
        facts.append((label[:1].upper() + label[1:], str(value)))
    return facts
