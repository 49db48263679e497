"""``lib.rowsinsert.insert_rows`` on PostgreSQL sends each column as one array; the text
literal it builds for plain values (``_pg_array``) must store exactly what the driver's own
array adaptation stores: awkward text, NULLs, booleans, datetimes of any zone to the
microsecond, text enums. Read back through the ORM, on every backend."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pawfile.lib.rowsinsert import _pg_array, insert_rows
from pawfile.notifications.batch import NOTIFICATION_FIELDS
from pawfile.notifications.choices import Kind
from pawfile.notifications.models import Notification

pytestmark = pytest.mark.django_db

TEXTS = [
    "",
    "plain",
    'a "quoted" word',
    'back\\slash and \\" both',
    "{braces}, commas, and ; semicolons",
    "NULL",
    "line\nbreaks\r\nand\ttabs",
    "  leading and trailing spaces  ",
    "ñandú 🐶 ü",
]
INSTANTS = [
    dt.datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 25, 2, 30, 0, 1, tzinfo=ZoneInfo("Europe/Madrid")),
    dt.datetime(1901, 1, 1, 0, 0, tzinfo=ZoneInfo("America/Mexico_City")),
    dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45))),
]


def test_plain_values_are_stored_as_the_driver_stores_them(cast, pet) -> None:
    rows = []
    for n, text in enumerate(TEXTS):
        at = INSTANTS[n % len(INSTANTS)]
        rows.append((
            cast.alice.pk, Kind.REMINDER if n % 2 else "other", text, text[::-1], text,
            cast.bob.pk if n % 3 == 0 else None, pet.pk if n % 2 else None, f"key:{n}:{text}",
            n % 2 == 0, at, None if n % 2 else at,
        ))  # fmt: skip
    found = insert_rows(Notification, NOTIFICATION_FIELDS, rows, returning=("event_key",))
    assert len(found) == len(rows)
    for row in rows:
        # instants compared in UTC (an ambiguous local time never equals another zone's)
        row = tuple(v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v for v in row)
        stored = Notification.objects.get(pk=found[(row[7],)])
        assert (
            stored.recipient_id, stored.kind, stored.title, stored.body, stored.link,
            stored.actor_id, stored.pet_id, stored.event_key, stored.in_inbox,
            stored.created_at, stored.read_at,
        ) == row  # fmt: skip


def test_the_literal_is_left_to_the_driver_for_other_values() -> None:
    assert _pg_array([1, None, 3]) == "{1,NULL,3}"
    assert _pg_array([True, False]) == "{t,f}"
    assert _pg_array(['say "hi"', "a\\b"]) == '{"say \\"hi\\"","a\\\\b"}'
    assert _pg_array([dt.datetime(2026, 1, 1, 1, 0, tzinfo=ZoneInfo("Europe/Madrid"))]) == (
        "{2026-01-01T00:00:00+00:00}"
    )
    naive = dt.datetime(2026, 1, 1)  # not this writer's: the driver's adaptation
    assert _pg_array([1, naive]) == [1, naive]
    assert _pg_array([1.5]) == [1.5]
