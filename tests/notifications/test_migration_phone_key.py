"""Migration ``notifications/0007_phone_key`` on rows that were there before it.

Before 0007, verified numbers were unique by their stored form, so two accounts could verify
two forms of one number (an Argentine mobile with and without its ``9``). The migration
gives every row its key; of two verified rows of one channel sharing a key, the first
verified keeps it and the other goes back to unverified and not opted in. Rows of another
channel, unverified rows and rows without a number are left as they were.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from pawfile.notifications.phone_numbers import phone_key

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("notifications", "0006_phone_stopped")
AFTER = ("notifications", "0007_phone_key")
WITH_NINE, WITHOUT_NINE = "+5491123456789", "+541123456789"  # one Argentine mobile
T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def migrate(target: tuple[str, str]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return MigrationExecutor(connection)  # a fresh loader sees the new state


def test_duplicates_of_one_number_keep_the_first_verified() -> None:
    assert phone_key(WITH_NINE) == phone_key(WITHOUT_NINE)
    executor = migrate(BEFORE)
    try:
        old = executor.loader.project_state([BEFORE]).apps
        User = old.get_model("accounts", "User")
        Channel = old.get_model("notifications", "PhoneChannel")
        first, second, third = (
            User.objects.create(email=f"{name}@example.org", password="!")
            for name in ("first", "second", "third")
        )
        rows = {
            "kept": Channel.objects.create(
                user=first, channel="whatsapp", phone=WITHOUT_NINE, verified_at=T0, opted_in=True
            ),
            "reset": Channel.objects.create(
                user=second, channel="whatsapp", phone=WITH_NINE,
                verified_at=T0 + dt.timedelta(days=3), opted_in=True,
            ),
            "other channel": Channel.objects.create(
                user=second, channel="sms", phone=WITH_NINE, verified_at=T0, opted_in=True
            ),
            "unverified": Channel.objects.create(
                user=third, channel="whatsapp", phone=WITH_NINE, opted_in=False
            ),
            "no number": Channel.objects.create(user=third, channel="sms", phone=""),
        }  # fmt: skip
        executor = migrate(AFTER)
        new = executor.loader.project_state([AFTER]).apps.get_model("notifications", "PhoneChannel")
        after = {name: new.objects.get(pk=row.pk) for name, row in rows.items()}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    key = phone_key(WITH_NINE)
    assert (after["kept"].verified_at, after["kept"].opted_in) == (T0, True)
    assert (after["reset"].verified_at, after["reset"].opted_in) == (None, False)
    assert after["other channel"].verified_at == T0 and after["other channel"].opted_in
    assert after["unverified"].verified_at is None
    assert [after[n].phone_key for n in ("kept", "reset", "other channel", "unverified")] == [
        key
    ] * 4
    assert after["no number"].phone_key == ""
