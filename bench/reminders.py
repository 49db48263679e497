"""Reminder scheduling benchmark: finding what is due among 1,000,000 reminders.

    .venv/bin/python bench/reminders.py [--reminders 1000000] [--due 500] [--runs 200]

The scheduler's tick never expands a rule to find due reminders: it reads ids by the
materialised ``next_fire_at`` (``reminders.firing.due_ids``, index ``reminder_next_fire``).
Steps: migrate a fresh data directory in a temporary folder (embedded mode: SQLite; with
``DATABASE_URL`` set, that database, which must be a scratch one: it is migrated and
filled); insert ``--reminders`` daily reminders for one pet with fire times spread over the
next year (one INSERT ... SELECT, no Python objects), ``--due`` of them due now; ANALYZE.
Then time the tick's query ``--runs`` times with nothing due and with ``--due`` due, print
the query plan, and fire the due ones once (``reminders_fire_due``: claim, occurrence,
notification and its outbox rows, next fire time), timing the whole tick. Prints
``case | runs | median ms | p95 ms | p99 ms | max ms``.

Dispatch (N reminders due at once, fired in batches and mailed by real workers to an SMTP
sink, deliveries per second and the due-to-hand-over delay): ``bench/dispatch.py``.
"""

# ruff: noqa: E402 - the standard library is imported after the sys.path fix below

from __future__ import annotations

import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time

from measure import timings_table  # bench/ is the script's folder


def fill(*, count: int, due: int, now: dt.datetime, household_id: int, pet_id: int) -> None:
    """``count`` reminders in one statement: the first ``due`` fire a minute ago, the rest at
    a spread of instants over the coming year."""
    from django.db import connection

    from pawfile.reminders.models import Reminder

    table_name = connection.ops.quote_name(Reminder._meta.db_table)
    year = 365 * 24 * 3600
    at = now.replace(tzinfo=None)
    if connection.vendor == "postgresql":
        series = "SELECT generate_series(1, %s) AS n"
        fire = f"(%s::timestamptz + ((n::bigint * 7919) %% {year}) * interval '1 second')"
        due_fire = "(%s::timestamptz - interval '1 minute')"
        params_at = now
    else:
        series = (
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %s) "
            "SELECT n FROM s"
        )
        fire = (
            f"strftime('%%Y-%%m-%%d %%H:%%M:%%S', %s, '+' || ((n * 7919) %% {year}) || ' seconds')"
        )
        due_fire = "strftime('%%Y-%%m-%%d %%H:%%M:%%S', %s, '-60 seconds')"
        params_at = at.isoformat(sep=" ")  # type: ignore[assignment]
    columns = (
        "household_id, pet_id, title, notes, source, start_date, start_time, timezone, rule, "
        "lead_minutes, channels, paused, next_due_at, next_fire_at, created_at, updated_at"
    )
    with connection.cursor() as cursor:
        when = f"CASE WHEN n <= %s THEN {due_fire} ELSE {fire} END"
        cursor.execute(
            f"INSERT INTO {table_name} ({columns}) "  # noqa: S608 - names from the model
            f"SELECT %s, %s, 'Pill', '', 'manual', %s, '09:00:00', 'Europe/Madrid', "
            f"'FREQ=DAILY;INTERVAL=1', 0, '[]', %s, {when}, {when}, %s, %s FROM ({series}) AS g",
            [
                household_id, pet_id, now.date(), False,
                due, params_at, params_at, due, params_at, params_at,
                now, now, count,
            ],
        )  # fmt: skip
        cursor.execute("ANALYZE")


def plan(now: dt.datetime) -> str:
    from django.db import connection

    from pawfile.reminders.models import Reminder

    query = Reminder.objects.filter(next_fire_at__lte=now).order_by("next_fire_at")
    sql, params = query.values_list("pk", flat=True)[:500].query.sql_with_params()
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        return "\n".join("  " + " ".join(str(c) for c in row) for row in cursor.fetchall())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=500)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="pawfile-bench-reminders-")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "pawfile.config.settings",
            "PAWFILE_DATA_DIR": data,
            "PAWFILE_TASKS_IMMEDIATE": "false",
            "PAWFILE_LOG_LEVEL": "ERROR",
        }
    )
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        from pawfile.accounts.models import Household, Membership, User
        from pawfile.pets.models import Pet
        from pawfile.reminders import firing

        call_command("migrate", verbosity=0)
        owner = User.objects.create_user(email=f"bench{time.time_ns()}@example.org", password=None)
        household = Household.objects.create(name="Bench")
        Membership.objects.create(household=household, user=owner, role="owner")
        pet = Pet.objects.create(household=household, name="Rex", species="dog")
        now = timezone.now().replace(microsecond=0)
        started = time.perf_counter()
        fill(count=args.reminders, due=args.due, now=now, household_id=household.pk, pet_id=pet.pk)
        print(f"# {connection.vendor}: {args.reminders:,} reminders inserted in "
              f"{time.perf_counter() - started:.1f} s, {args.due} due")  # fmt: skip
        print("# plan of the tick's query:\n" + plan(now))
        rows: dict[str, list[float]] = {"due ids, nothing due": [], f"due ids, {args.due} due": []}
        before = now - dt.timedelta(minutes=5)
        for _ in range(args.runs):
            start = time.perf_counter()
            assert firing.due_ids(now=before) == []
            rows["due ids, nothing due"].append(time.perf_counter() - start)
            start = time.perf_counter()
            assert len(firing.due_ids(now=now)) == min(args.due, firing.BATCH)
            rows[f"due ids, {args.due} due"].append(time.perf_counter() - start)
        start = time.perf_counter()
        count = firing.reminders_fire_due(now=now)
        tick = time.perf_counter() - start
        timings_table(rows)
        print(
            f"# one tick fired {count.fired} reminders in {tick * 1000:.0f} ms "
            f"({tick * 1000 / max(count.fired, 1):.2f} ms each: claim, occurrence, "
            "notification and outbox rows, next fire time)"
        )
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
