"""Reads for health records, through the pet gate (404 for strangers, 403 for low roles).

A read that takes a ``pet`` trusts the gate's decision attached to it for the same user
(``pets.selectors.pet_checked``): the gate runs once per page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, Protocol, TypeVar

from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from pawfile.accounts.access import Action, access_of
from pawfile.accounts.models import User
from pawfile.health.choices import DUE_KINDS, DueStatus, Kind
from pawfile.health.models import Attachment, HealthRecord
from pawfile.health.status import DueItem, due_items
from pawfile.lib import sqlrows
from pawfile.lib.errors import NotFound
from pawfile.pets.models import Pet
from pawfile.pets.selectors import pet_checked, pet_get

# What the due status of a record depends on.
DUE_FIELDS = ("id", "pet", "kind", "name", "date", "next_due")


def record_list(*, user: User, pet: Pet, kinds: list[str] | None = None) -> QuerySet[HealthRecord]:
    """Records of a pet the user may see, newest first; optionally only some kinds."""
    pet_checked(user=user, pet=pet)
    records = HealthRecord.objects.filter(pet=pet).prefetch_related("attachments")
    if kinds:
        records = records.filter(kind__in=[k for k in kinds if k in Kind.values])
    return records


def record_page(
    records: QuerySet[HealthRecord], *, before: tuple[dt.date, int] | None, size: int
) -> tuple[list[HealthRecord], bool]:
    """Up to ``size`` of ``records`` (ordered newest first, as ``record_list`` gives them)
    older than ``before`` (the date and id of the last record already shown), and whether
    any older remain. A keyset page: records added meanwhile never shift it."""
    if before is not None:
        day, pk = before
        records = records.filter(Q(date__lt=day) | Q(date=day, pk__lt=pk))
    page = list(records.order_by("-date", "-id")[: size + 1])
    return page[:size], len(page) > size


def record_get(*, user: User, record_id: int, action: Action = Action.VIEW) -> HealthRecord:
    """The record, with its pet as the gate returns it, if ``user`` may ``action`` the pet
    (``NotFound`` / ``Forbidden`` otherwise)."""
    record = HealthRecord.objects.filter(pk=record_id).first()
    if record is None:
        raise NotFound(_("Not found."))
    record.pet = pet_get(user=user, pet_id=record.pet_id, action=action)
    return record


def record_checked(*, user: User, record: HealthRecord, action: Action) -> HealthRecord:
    """``record`` when ``record_get`` returned it for ``user`` (its pet carries the gate's
    decision), checked for ``action`` without a query; any other record is read again
    through ``record_get``. Raises what ``record_get`` raises."""
    pet = record.pet if HealthRecord.pet.is_cached(record) else None
    access = access_of(pet) if pet is not None else None
    if access is not None and access.covers(user=user, pet_id=record.pet_id):
        access.require(action)
        return record
    return record_get(user=user, record_id=record.pk, action=action)


def attachment_get(*, user: User, attachment_id: int, action: Action = Action.VIEW) -> Attachment:
    """The attachment, its record and the record's pet as the gate returns it, if ``user``
    may ``action`` the pet (``NotFound`` / ``Forbidden`` otherwise)."""
    attachment = Attachment.objects.select_related("record").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(_("Not found."))
    attachment.record.pet = pet_get(user=user, pet_id=attachment.record.pet_id, action=action)
    return attachment


def weight_series(*, pet: Pet) -> list[tuple[dt.date, int]]:
    """``(date, grams)`` of the pet's weights, oldest first (caller has checked access)."""
    rows = (
        HealthRecord.objects.filter(pet=pet, kind=Kind.WEIGHT, weight_grams__isnull=False)
        .order_by("date", "id")
        .values_list("date", "weight_grams")
    )
    return [(day, int(grams or 0)) for day, grams in rows]


def care_records(*, pet: Pet, today: dt.date) -> tuple[list[HealthRecord], list[HealthRecord]]:
    """The pet's current medications (started by ``today`` and not ended before it) and its
    allergy records, each newest first, in one query (caller has checked access)."""
    records = HealthRecord.objects.filter(pet=pet, kind__in=[Kind.MEDICATION, Kind.ALLERGY])
    return care_records_split(records.order_by("-date", "-id"), today=today)


class CareRecord(Protocol):
    """What ``care_records_split`` reads of a record: a ``HealthRecord``, or a row read with
    the same fields (a hand-written query's)."""

    @property
    def kind(self) -> str: ...
    @property
    def date(self) -> dt.date: ...
    @property
    def end_date(self) -> dt.date | None: ...


C = TypeVar("C", bound=CareRecord)


def care_records_split(records: Iterable[C], *, today: dt.date) -> tuple[list[C], list[C]]:
    """``care_records`` of records already read (any kinds, in the order wanted): the
    medications current on ``today`` and the allergy records; other kinds are left out."""
    medications: list[C] = []
    allergies: list[C] = []
    for record in records:
        if record.kind == Kind.ALLERGY:
            allergies.append(record)
        elif (
            record.kind == Kind.MEDICATION
            and record.date <= today
            and (record.end_date is None or record.end_date >= today)
        ):
            medications.append(record)
    return medications, allergies


def due_items_by_pet(*, pet_ids: Iterable[int], today: dt.date) -> dict[int, list[DueItem]]:
    """The due status on ``today`` of every vaccination and deworming of each pet, by pet id
    (caller has checked access): the one answer the pages, the API and the PDF report give.

    Each list is ``health.status.due_items`` of the pet (current items worst first, then the
    replaced ones). ``today`` is the date of the person who looks
    (``pawfile.lib.dates.user_today``). One query for any number of pets.
    """
    by_pet: dict[int, list[HealthRecord]] = {pet_id: [] for pet_id in pet_ids}
    records = HealthRecord.objects.filter(pet_id__in=list(by_pet), kind__in=DUE_KINDS)
    for record in records:
        by_pet[record.pet_id].append(record)
    return {pet_id: due_items(found, today=today) for pet_id, found in by_pet.items()}


def record_due_statuses(*, records: Sequence[HealthRecord], today: dt.date) -> dict[int, DueStatus]:
    """``{record id: status}`` on ``today`` of the vaccinations and dewormings among
    ``records`` (other kinds are absent), the same answer ``due_items_by_pet`` gives.

    Reads only the records that could replace them (same pets and kinds, later than the
    earliest one given), so answering for a new or a few records stays one small query
    however long a pet's history is. Caller has checked access.
    """
    asked = {r.pk: r for r in records if r.kind in DUE_KINDS}
    if not asked:
        return {}
    first = min(asked.values(), key=lambda r: (r.date, r.pk))
    pet_ids = sorted({r.pet_id for r in asked.values()})
    kinds = sorted({str(r.kind) for r in asked.values()})
    found = {r.pk: r for r in _records_after(first, pet_ids=pet_ids, kinds=kinds)} | asked
    return {
        item.record.pk: item.status
        for item in due_items(found.values(), today=today)
        if item.record.pk in asked
    }


def created_record_due_status(*, record: HealthRecord, today: dt.date) -> DueStatus:
    """The due status on ``today`` of a record ``services.record_create`` has just returned,
    for the answer to its creation: from what its INSERT read (``records_seen_attach``,
    PostgreSQL) without a query, else as ``record_due_statuses`` gives it. What the INSERT
    read serves once, and only while the record is where it was read for."""
    if record.kind not in DUE_KINDS:
        return DueStatus.NONE
    seen = _seen_take(record)
    if seen is None:
        return record_due_statuses(records=[record], today=today).get(record.pk, DueStatus.NONE)
    later = [r for r in seen if (r.date, r.pk) > (record.date, record.pk)]
    items = due_items([*later, record], today=today)
    return next(item.status for item in items if item.record.pk == record.pk)


# Set on a new record by ``records_seen_attach``: the records that could replace it.
_SEEN = "_pawfile_due_seen"


def records_seen_statement(record: HealthRecord) -> sqlrows.Statement | None:
    """For a ``record`` about to be inserted: the SELECT of the records that could replace
    it in the due status (its pet's records of its kind after its date), for
    ``sqlrows.insert(read=...)``, which answers it in the INSERT's own statement on
    PostgreSQL; ``None`` for kinds without a due status (or with the benchmark switch)."""
    if record.kind not in DUE_KINDS or not sqlrows.HAND_WRITTEN or record.date is None:
        return None
    day = connections[_due_columns().db].ops.adapt_datefield_value(record.date)
    return _records_after_sql(1, 1, new=True), [record.pet_id, str(record.kind), day]


def records_seen_attach(record: HealthRecord, rows: list[dict[str, Any]] | None) -> None:
    """Keep on the new ``record`` what ``sqlrows.insert`` read for ``records_seen_statement``
    (``None``: nothing was read), for ``created_record_due_status``."""
    if rows is None:
        return
    instances = []
    for row in rows:
        values = {name: row[name] for name in _due_columns().attnames}
        for name in ("date", "next_due"):
            if values[name] is not None:
                values[name] = dt.date.fromisoformat(values[name])
        instances.append(
            HealthRecord.from_db(_due_columns().db, list(values), list(values.values()))
        )
    setattr(record, _SEEN, (_seen_key(record), instances))


def _seen_key(record: HealthRecord) -> tuple[Any, ...]:
    return (record.pk, record.pet_id, record.kind, record.date)


def _seen_take(record: HealthRecord) -> list[HealthRecord] | None:
    """What ``records_seen_attach`` kept on ``record``, once, and only while the record is
    still where it was read for; ``None`` otherwise."""
    kept = record.__dict__.pop(_SEEN, None)
    if kept is None or kept[0] != _seen_key(record):
        return None
    return list(kept[1])


@cache
def _due_columns() -> sqlrows.Columns:
    # In the model's field order, as ``Model.from_db`` takes them.
    fields = [f.name for f in HealthRecord._meta.concrete_fields if f.name in DUE_FIELDS]
    return sqlrows.columns(HealthRecord, "r", tuple(fields))


@cache
def _records_after_sql(pets: int, kinds: int, *, new: bool = False) -> str:
    """The records of ``pets`` pets and ``kinds`` kinds after a date and id (parameters:
    the pets, the kinds, the date twice, the id) or, ``new``, after a date (the pets, the
    kinds, the date): for a record being inserted, whose id is above every id its
    statement can see, so the stored records of its own date are all before it."""

    def c(field: str) -> str:
        return sqlrows.column(HealthRecord, field, "r")

    after = (
        f"{c('date')} > %s"
        if new
        else f"({c('date')} > %s OR ({c('date')} = %s AND {c('id')} > %s))"
    )
    return (  # names are quoted by the connection, values are parameters
        f"SELECT {_due_columns().sql} FROM {sqlrows.table(HealthRecord)} r"  # noqa: S608
        f" WHERE {c('pet')} IN ({', '.join(['%s'] * pets)})"
        f" AND {c('kind')} IN ({', '.join(['%s'] * kinds)}) AND {after}"
    )


def _records_after(
    first: HealthRecord, *, pet_ids: list[int], kinds: list[str]
) -> list[HealthRecord]:
    """The ``DUE_FIELDS`` of the records of ``pet_ids`` and ``kinds`` after ``first`` (by
    date, then id). Hand-written: an API call answering for a new record spends a few tens of
    microseconds here where the ORM query costs about 300."""
    if not sqlrows.HAND_WRITTEN:  # the benchmark switch (bench/api.py --orm)
        return list(
            HealthRecord.objects.filter(
                Q(date__gt=first.date) | Q(date=first.date, pk__gt=first.pk),
                pet_id__in=pet_ids,
                kind__in=kinds,
            )
            .only(*DUE_FIELDS)
            .order_by()
        )
    columns = _due_columns()
    connection = connections[columns.db]
    day = connection.ops.adapt_datefield_value(first.date)
    rows = sqlrows.fetch(
        _records_after_sql(len(pet_ids), len(kinds)), [*pet_ids, *kinds, day, day, first.pk]
    )
    return [columns.instance(row, connection) for row in rows]  # type: ignore[misc]
