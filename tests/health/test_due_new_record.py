"""The due status in the answer to a new record: on PostgreSQL the records that could
replace it are read in the INSERT's own statement (``health.selectors.records_seen_*``);
the answer must be the one the general query gives, for every case of the rule. Runs on
SQLite (the general query) and on PostgreSQL (the folded read)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pawfile.health import selectors, services
from pawfile.health.models import HealthRecord
from pawfile.lib.dates import user_today

DAY = dt.date(2026, 5, 10)

# (records already stored: kind, name, date offset in days), then the new record's kind
# and name: the new one is dated DAY.
CASES = {
    "alone": ([], "vaccination", "Rabies"),
    "a later shot of the same vaccine": ([("vaccination", "Rabies", 30)], "vaccination", "Rabies"),
    "same vaccine, other case and spaces": (
        [("vaccination", "  rabies ", 1)], "vaccination", "Rabies"
    ),
    "a later shot of another vaccine": ([("vaccination", "DHPP", 30)], "vaccination", "Rabies"),
    "an earlier shot of the same vaccine": (
        [("vaccination", "Rabies", -30)], "vaccination", "Rabies"
    ),
    "same vaccine, same day, stored before": (
        [("vaccination", "Rabies", 0)], "vaccination", "Rabies"
    ),
    "a later deworming of the same name": ([("deworming", "Rabies", 5)], "vaccination", "Rabies"),
    "deworming replaced": ([("deworming", "Milbemax", 5)], "deworming", "Milbemax"),
    "many, mixed": (
        [("vaccination", "Rabies", -1), ("vaccination", "rabies", 2), ("deworming", "X", 9)],
        "vaccination",
        "RABIES",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("next_due", [None, 20, 400])
def test_new_record_status_is_the_general_answer(cast, pet, case, next_due) -> None:
    stored, kind, name = CASES[case]
    for stored_kind, stored_name, offset in stored:
        services.record_create(
            actor=cast.alice, pet=pet, kind=stored_kind, name=stored_name,
            date=DAY + dt.timedelta(days=offset),
        )  # fmt: skip
    due = DAY + dt.timedelta(days=next_due) if next_due is not None else None
    with CaptureQueriesContext(connection) as queries:
        record = services.record_create(
            actor=cast.alice, pet=pet, kind=kind, name=name, date=DAY, next_due=due
        )
        today = user_today(cast.alice)
        answer = selectors.created_record_due_status(record=record, today=today)
    reads = [q for q in queries if q["sql"].startswith("SELECT") and "health" in q["sql"]]
    # the general query, on a fresh copy of the record
    fresh = HealthRecord.objects.get(pk=record.pk)
    general = selectors.record_due_statuses(records=[fresh], today=today)
    assert answer == general[record.pk]
    if connection.vendor == "postgresql" and next_due is None:
        assert reads == []  # read with the INSERT (a next due date also makes a reminder)


def test_what_was_read_serves_once_and_only_where_it_was_read(cast, pet) -> None:
    today = user_today(cast.alice)
    record = services.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name="Rabies", date=DAY
    )
    assert selectors.created_record_due_status(record=record, today=today) == "none"
    services.record_create(actor=cast.alice, pet=pet, kind="vaccination", name="Rabies", date=DAY)
    # asked again after a later shot was added: read again, so "replaced"
    assert selectors.created_record_due_status(record=record, today=today) == "replaced"
    moved = services.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name="Rabies", date=DAY
    )
    moved.date = DAY - dt.timedelta(days=1)  # no longer where it was read for
    assert selectors.created_record_due_status(record=moved, today=today) == "replaced"


def test_a_kind_without_due_status_reads_nothing(cast, pet) -> None:
    record = services.record_create(actor=cast.alice, pet=pet, kind="visit", name="Check-up")
    with CaptureQueriesContext(connection) as queries:
        status = selectors.created_record_due_status(record=record, today=DAY)
    assert status == "none" and not queries.captured_queries
