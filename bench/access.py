"""The pet gate with and without its hand-written SELECT, timed in this process.

    .venv/bin/python bench/access.py [--calls 2000] [--rounds 5]

Steps: migrate a fresh data directory in a temporary folder (embedded mode, SQLite, as
``bench/web.py`` does; ``DATABASE_URL`` and ``REDIS_URL`` are ignored); make an owner, a
viewer, a grantee with a live summary grant, and a dog; then call
``pets.selectors.pet_get`` (one hand-written SELECT, :mod:`pawfile.lib.sqlrows`) and
``pets.selectors.pet_get_orm`` (the same query built by the ORM) ``--calls`` times each,
alternating, ``--rounds`` times, and print
``subject | path | median µs per call | best µs per call | queries per call``.

Nothing listens on the network; the temporary folder is removed on exit.
"""

# ruff: noqa: E402 - the standard library is imported after the sys.path fix below

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="pawfile.config.settings",
        PAWFILE_DATA_DIR=str(data_dir),
        PAWFILE_ENV="development",
        PAWFILE_DEBUG="false",
        PAWFILE_LOG_LEVEL="WARNING",
        PAWFILE_BASE_URL="",
    )
    return env


def _people() -> dict[str, tuple[Any, int]]:
    """``{subject: (user, pet id)}`` for an owner, a viewer and a grantee of one dog."""
    from django.utils import timezone

    from pawfile.accounts import services
    from pawfile.accounts.choices import Role
    from pawfile.accounts.models import Membership
    from pawfile.pets.models import Pet

    owner = services.user_create(email="owner@example.org", password=None)
    viewer = services.user_create(email="viewer@example.org", password=None)
    staff = services.user_create(email="staff@example.org", password=None)
    household = owner.memberships.get().household
    Membership.objects.create(household=household, user=viewer, role=Role.VIEWER)
    pet = Pet.objects.create(household=household, name="Rex", species="dog")
    now = timezone.now()
    services.grant_create(
        user=staff, household=household, pet_id=pet.pk, actions=["summary"], source="bench",
        starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=1),
    )  # fmt: skip
    return {"owner": (owner, pet.pk), "viewer": (viewer, pet.pk), "grantee": (staff, pet.pk)}


def _per_call_us(gate: Callable[..., Any], user: Any, pet_id: int, calls: int) -> float:
    from pawfile.accounts.access import Action

    action = Action.SUMMARY
    started = time.perf_counter()
    for _ in range(calls):
        gate(user=user, pet_id=pet_id, action=action)
    return (time.perf_counter() - started) / calls * 1e6


def _queries_per_call(gate: Callable[..., Any], user: Any, pet_id: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pawfile.accounts.access import Action

    with CaptureQueriesContext(connection) as captured:
        gate(user=user, pet_id=pet_id, action=Action.SUMMARY)
    return len(captured.captured_queries)


def measure(calls: int, rounds: int) -> list[tuple[str, str, float, float, int]]:
    from pawfile.pets.selectors import pet_get, pet_get_orm

    paths = {"hand-written SELECT": pet_get, "ORM": pet_get_orm}
    rows = []
    for subject, (user, pet_id) in _people().items():
        timings: dict[str, list[float]] = {name: [] for name in paths}
        for gate in paths.values():  # warm both: compiled SQL, converters, caches
            _per_call_us(gate, user, pet_id, 50)
        for _ in range(rounds):
            for name, gate in paths.items():
                timings[name].append(_per_call_us(gate, user, pet_id, calls))
        for name, gate in paths.items():
            runs = timings[name]
            queries = _queries_per_call(gate, user, pet_id)
            rows.append((subject, name, statistics.median(runs), min(runs), queries))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per round (2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per path (5)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="pawfile-bench-access-"))
    try:
        data_dir = work / "data"
        data_dir.mkdir()
        env = _environment(data_dir)
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
            env=env, cwd=work, check=True, timeout=300,
        )  # fmt: skip
        os.environ.update(env)
        import django

        django.setup()
        rows = measure(args.calls, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\npet_get, {args.calls} calls x {args.rounds} rounds per path (SQLite, in process)\n")
    print("| subject | path | median µs/call | best µs/call | queries/call |")
    print("|---|---|---:|---:|---:|")
    for subject, name, median, best, queries in rows:
        print(f"| {subject} | {name} | {median:.1f} | {best:.1f} | {queries} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
