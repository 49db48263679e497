"""``sqlrows.insert`` writes the row ``save()`` would, and hands back to ``save()`` whenever
``save()`` would do more (receivers, expressions). Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Value
from django.db.models.signals import pre_save
from django.utils import timezone

from pawfile.health.models import HealthRecord
from pawfile.lib import sqlrows
from tests.conftest import Cast

FIELDS = dict(
    kind="visit", date=dt.date(2026, 3, 4), name="Limp  ", notes="Left paw",
    vet_name="Dr Vega", clinic="Centro", diagnosis="Sprain", cost=Decimal("45.50"),
    currency="EUR", next_due=None, weight_grams=None,
)  # fmt: skip


def _row(record_id: int) -> dict[str, object]:
    row = HealthRecord.objects.filter(pk=record_id).values().get()
    return {k: v for k, v in row.items() if k not in ("id", "created_at", "updated_at")}


def test_writes_the_row_save_writes(cast: Cast, pet) -> None:
    before = timezone.now()
    by_orm = HealthRecord(pet=pet, created_by=cast.alice, **FIELDS)
    by_orm.save()
    ours = HealthRecord(pet=pet, created_by=cast.alice, **FIELDS)
    sqlrows.insert(ours)
    assert ours.pk is not None and ours.pk != by_orm.pk
    assert _row(ours.pk) == _row(by_orm.pk)
    stored = HealthRecord.objects.get(pk=ours.pk)
    # auto_now_add / auto_now stamped, in UTC, on the instance and in the row alike
    assert stored.created_at == ours.created_at and stored.updated_at == ours.updated_at
    assert before <= stored.created_at <= timezone.now()
    assert stored.cost == Decimal("45.50") and stored.date == dt.date(2026, 3, 4)


def test_instance_is_stored_so_save_updates_it(cast: Cast, pet) -> None:
    record = HealthRecord(pet=pet, created_by=cast.alice, **FIELDS)
    sqlrows.insert(record)
    assert record._state.adding is False and record._state.db == "default"
    record.name = "Better"
    record.save()
    assert HealthRecord.objects.filter(pet=pet).count() == 1
    assert HealthRecord.objects.get(pk=record.pk).name == "Better"


def test_rolled_back_with_the_callers_transaction(cast: Cast, pet) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        sqlrows.insert(HealthRecord(pet=pet, created_by=cast.alice, **FIELDS))
        raise RuntimeError
    assert not HealthRecord.objects.filter(pet=pet).exists()


def test_receivers_get_their_signal(cast: Cast, pet) -> None:
    seen: list[HealthRecord] = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    pre_save.connect(receiver, sender=HealthRecord)
    try:
        record = HealthRecord(pet=pet, created_by=cast.alice, **FIELDS)
        sqlrows.insert(record)
    finally:
        pre_save.disconnect(receiver, sender=HealthRecord)
    assert seen == [record]
    assert HealthRecord.objects.filter(pk=record.pk).exists()


def test_expression_values_go_through_save(cast: Cast, pet) -> None:
    record = HealthRecord(pet=pet, created_by=cast.alice, **{**FIELDS, "notes": Value("typed")})
    sqlrows.insert(record)
    assert HealthRecord.objects.get(pk=record.pk).notes == "typed"


def test_an_overridden_save_is_not_skipped(cast: Cast, pet, monkeypatch) -> None:
    """A model whose ``save()`` does something of its own gets its ``save()``, not the
    shortcut: the row carries what that ``save()`` did."""
    original = HealthRecord.save

    def save(self, *args, **kwargs):
        self.name = self.name.strip().upper()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(HealthRecord, "save", save)
    record = HealthRecord(pet=pet, created_by=cast.alice, **FIELDS)
    sqlrows.insert(record)
    assert HealthRecord.objects.get(pk=record.pk).name == "LIMP"


@pytest.mark.parametrize("step", sqlrows._SAVE_STEPS)
def test_any_overridden_step_of_save_hands_over_to_save(
    cast: Cast, pet, monkeypatch, step: str
) -> None:
    original = getattr(HealthRecord, step)
    calls: list[str] = []

    def override(self, *args, **kwargs):
        calls.append(step)
        return original(self, *args, **kwargs)

    assert not sqlrows.save_overridden(HealthRecord)
    monkeypatch.setattr(HealthRecord, step, override)
    assert sqlrows.save_overridden(HealthRecord)
    record = HealthRecord(pet=pet, created_by=cast.alice, **FIELDS)
    sqlrows.insert(record)
    assert calls == [step]
    assert record.pk is not None and HealthRecord.objects.filter(pk=record.pk).exists()


def _revision(pet) -> int:
    return type(pet).objects.values_list("revision", flat=True).get(pk=pet.pk)


def test_along_statement_commits_with_the_row(cast: Cast, pet) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pawfile.pets.services import pet_revision_bump_statement

    before = _revision(pet)
    record = HealthRecord(pet=pet, created_by=cast.alice, **FIELDS)
    with CaptureQueriesContext(connection) as queries:
        sqlrows.insert(record, along=pet_revision_bump_statement(pet.pk))
    # PostgreSQL: one statement (a data-modifying WITH), no BEGIN/COMMIT around it;
    # elsewhere INSERT + UPDATE in one transaction (here a savepoint of the test's).
    statements = [q["sql"].split(" ", 1)[0] for q in queries]
    if connection.vendor == "postgresql":
        assert statements == ["WITH"]
    else:
        assert [s for s in statements if s in ("INSERT", "UPDATE")] == ["INSERT", "UPDATE"]
    assert record.pk is not None and _row(record.pk)["name"] == "Limp  "
    assert _revision(pet) == before + 1


def test_the_row_is_undone_when_the_along_statement_fails(cast: Cast, pet) -> None:
    from django.db import IntegrityError

    from pawfile.pets.models import Pet

    spoil = (f"UPDATE {sqlrows.table(Pet)} SET {sqlrows.name(Pet, 'revision')} = NULL"  # noqa: S608
             f" WHERE {sqlrows.name(Pet, 'id')} = %s", [pet.pk])  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        sqlrows.insert(HealthRecord(pet=pet, created_by=cast.alice, **FIELDS), along=spoil)
    assert not HealthRecord.objects.filter(pet=pet).exists()


def test_a_read_rides_in_the_insert_on_postgresql(cast: Cast, pet) -> None:
    """``read``: on PostgreSQL answered in the INSERT's own statement, as the database was
    before it (the new row is not among the rows); elsewhere not run (``None``)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pawfile.pets.services import pet_revision_bump_statement

    old = HealthRecord(pet=pet, created_by=cast.alice, **FIELDS)
    old.save()
    name, kind = (
        sqlrows.column(HealthRecord, "name", "r"),
        sqlrows.column(HealthRecord, "kind", "r"),
    )
    read = (
        f"SELECT {sqlrows.column(HealthRecord, 'id', 'r')}, {name}"  # noqa: S608
        f" FROM {sqlrows.table(HealthRecord)} r WHERE {kind} = %s",
        ["visit"],
    )
    before = _revision(pet)
    record = HealthRecord(pet=pet, created_by=cast.alice, **FIELDS)
    with CaptureQueriesContext(connection) as queries:
        rows = sqlrows.insert(record, along=pet_revision_bump_statement(pet.pk), read=read)
    assert record.pk is not None and _revision(pet) == before + 1
    if connection.vendor == "postgresql":
        assert [q["sql"].split(" ", 1)[0] for q in queries] == ["WITH"]
        assert rows == [{"id": old.pk, "name": "Limp  "}]
        # no row matched: an empty list, not None
        empty = (read[0], ["weight"])
        assert sqlrows.insert(HealthRecord(pet=pet, **FIELDS), read=empty) == []
    else:
        assert rows is None
        assert not [q for q in queries if q["sql"].startswith("SELECT")]


def test_prepared_parameters_are_each_fields_own(cast: Cast, pet) -> None:
    # ``_db_prep_save`` takes the step ``get_db_prep_save`` reduces to for plain text, dates
    # and aware datetimes of Django's own fields: its parameters must be the ones every
    # field's own call gives, of the same types, whatever the values (lazy text, an enum
    # member, None, numbers, a datetime given for a date, aware datetimes in any zone).
    import zoneinfo

    from django.db import connections
    from django.utils.functional import lazy

    from pawfile.health.choices import Kind

    connection = connections["default"]
    plan = sqlrows._insert_plan(HealthRecord, "default")
    assert plan is not None
    kinds = dict(zip((f.name for f in plan.fields), plan.prep, strict=True))
    assert kinds["name"] == kinds["notes"] == sqlrows._PREP_TEXT
    assert kinds["date"] == kinds["next_due"] == sqlrows._PREP_DATE
    assert kinds["created_at"] == kinds["updated_at"] == sqlrows._PREP_DATETIME
    assert kinds["cost"] == kinds["pet"] == kinds["weight_grams"] == sqlrows._PREP_CALL
    kiritimati = zoneinfo.ZoneInfo("Pacific/Kiritimati")
    variants = [
        {},
        {"name": lazy(lambda: "Lazy name", str)(), "kind": Kind.VISIT},
        {"date": dt.datetime(2026, 3, 4, 23, 30, tzinfo=dt.UTC), "next_due": dt.date(2027, 1, 1)},
        {"notes": "", "cost": None, "currency": "", "weight_grams": 4200},
    ]
    for variant in variants:
        record = HealthRecord(pet=pet, created_by=cast.alice, **{**FIELDS, **variant})
        values = [field.pre_save(record, True) for field in plan.fields]
        for stamp in (values[-1], values[-1].astimezone(kiritimati)):
            values = [*values[:-1], stamp]
            full = [
                f.get_db_prep_save(v, connection) for f, v in zip(plan.fields, values, strict=True)
            ]
            fast = sqlrows._db_prep_save(plan, values, connection)
            assert fast == full, variant
            assert [type(v) for v in fast] == [type(v) for v in full], variant
