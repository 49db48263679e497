"""What one stranger's visit of a lost pet's public page costs in-process: queries, cache
calls, CPU, and where it goes.

    .venv/bin/python bench/publicpage_cost.py [--mode embedded|scale-out|both]
                                              [--page cached|uncached|both] [--requests 500]
                                              [--profile 30] [--sql]
                                              [--postgres URL] [--redis redis://127.0.0.1:6379/0]

The page is the one ``bench/web.py --public-page`` loads: a lost pet with every switch on
(photo, species, sex, age, allergies, medication, special needs, a shown contact, lost-mode
details), made by ``bench/web.py --seed-public-page``. For each mode: a fresh data directory
(scale-out: a PostgreSQL database and a Redis prefix of its own, ``bench/scaleout.py``),
migrated and seeded; then for each page, in a subprocess with the mode's environment, the
WSGI application granian serves (``pawfile.config.wsgi:application``) called directly with
an anonymous ``GET /p/{slug}`` (``Accept-Language: en``, no cookie, as a finder's phone asks):

* ``cached``: the server as it runs (every visit after the first replays the page the
  process holds, ``lostpet/fastpage.py``);
* ``uncached``: ``PAWFILE_PUBLIC_PAGE_CACHE=off``, the row ``uncached`` of ``bench/web.py``:
  every visit draws the page (after the first, which Django answers and whose headers the
  layer in front learns).

Per page: ``queries`` (SQL statements, counted with Django's execute wrapper in a pass of
their own: a watched connection runs ``lib.sqlrows``'s statements on Django's slower cursor,
so the measured pass runs unwatched), ``db round trips`` on PostgreSQL (statements plus
``BEGIN``/``COMMIT`` and health checks, counted in psycopg), ``cache calls`` (Redis commands
or calls to the in-process cache), ``cpu ms`` (this process's CPU time per page: a measure
that does not depend on how busy the machine is, unlike the wall clock; the database
server's CPU is not in it) and the median wall time. ``--profile N`` adds a cProfile of as
many pages again after the measured ones (its overhead is not in the figures): the N
functions with the most cumulative time; ``--sql`` prints the statements of one page. No
HTTP server: ``bench/web.py --public-page`` measures the served page. Not part of the
product.
"""

# ruff: noqa: E402 - the standard library is imported after the sys.path fix below

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
for folder in (str(BENCH_DIR.parent), str(BENCH_DIR)):
    if folder not in sys.path:
        sys.path.insert(0, folder)

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from petpage_cost import page_call
from scaleout import DEFAULT_POSTGRES, DEFAULT_REDIS, mode_services

MODES = {"embedded": ("embedded",), "scale-out": ("scale-out",), "both": ("embedded", "scale-out")}
PAGES = {"cached": ("cached",), "uncached": ("uncached",), "both": ("cached", "uncached")}
WARM_UP = 20


def _counters() -> Any:
    """The round-trip and cache counters of ``bench/roundtrips.py``, installed."""
    import roundtrips
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "postgresql":
        roundtrips._psycopg_counted()
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        roundtrips._redis_counted()
    else:
        roundtrips._cache_api_counted()
    return roundtrips.COUNTS


def inner(path: str, requests: int, profile: int) -> dict[str, Any]:
    """Measure ``path`` (in the subprocess, with the mode's and the page's environment)."""
    import cProfile
    import pstats

    from django.db import connection

    from pawfile.config.wsgi import application
    from pawfile.lostpet import fastpage

    counts = _counters()
    scaleout = connection.vendor == "postgresql"

    def visit() -> bytes:
        status, _headers, body = page_call(application, path, "")
        if status != 200 or b"Luna" not in body:
            raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
        return body

    for _ in range(WARM_UP):
        visit()
    if not fastpage._headers:
        raise SystemExit("the layer in front of Django learnt no headers: Django answers")

    statements: list[str] = []

    def wrapper(execute: Callable[..., Any], *args: Any) -> Any:
        statements.append(str(args[0])[:400])
        return execute(*args)

    with connection.execute_wrapper(wrapper):  # the counting pass (Django's cursor)
        for _ in range(WARM_UP):
            visit()
    queries = len(statements) / WARM_UP
    sql = statements[: int(queries)]

    before = counts.snapshot()
    walls = []
    cpu_before = time.process_time()
    for _ in range(requests):
        start = time.perf_counter()
        body = visit()
        walls.append((time.perf_counter() - start) * 1000)
    cpu = (time.process_time() - cpu_before) * 1000 / requests
    after = counts.snapshot()
    top = ""
    if profile:  # a pass of its own: the profiler's overhead stays out of the figures
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            visit()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(profile)
        top = out.getvalue()
    return {
        "queries": queries,
        "db_round_trips": (after[1] - before[1]) / requests if scaleout else None,
        "cache_calls": (after[2] - before[2]) / requests,
        "cpu_ms": cpu,
        "wall_ms": statistics.median(walls),
        "bytes": len(body),
        "profile": top,
        "sql": sql,
    }


def run_mode(label: str, args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """Both pages of one mode: a fresh database, seeded once, then a subprocess per page."""
    import web

    work = Path(tempfile.mkdtemp(prefix="pawfile-bench-publiccost-"))
    services = mode_services(label, args.postgres, args.redis)
    rows = []
    try:
        with services as service_env:
            data_dir = work / "data"
            data_dir.mkdir()
            env = {**web.bench_env(data_dir), **service_env}
            web.migrate(env, work)
            path = web.public_page_seed(env, work)
            for page in PAGES[args.page]:
                page_env = {**env, "PAWFILE_PUBLIC_PAGE_CACHE": "on" if page == "cached" else "off"}
                command = [sys.executable, str(Path(__file__).resolve()), "--inner", path]
                command += ["--requests", str(args.requests), "--profile", str(args.profile)]
                done = subprocess.run(
                    command, env=page_env, cwd=work, capture_output=True, text=True,
                    timeout=1800, check=False,
                )  # fmt: skip
                if done.returncode != 0:
                    raise SystemExit(f"[{label} {page}] failed:\n{done.stderr[-3000:]}")
                rows.append((page, dict(json.loads(done.stdout.strip().splitlines()[-1]))))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--mode", choices=sorted(MODES), default="both")
    add("--page", choices=sorted(PAGES), default="both")
    add("--requests", type=int, default=500, help="measured pages (500)")
    add("--profile", type=int, default=0, help="print the N costliest functions (0: none)")
    add("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server (scale-out)")
    add("--redis", default=DEFAULT_REDIS, help="Redis server (scale-out)")
    add("--sql", action="store_true", help="print the SQL statements of one page")
    add("--inner", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        print(json.dumps(inner(args.inner, args.requests, args.profile)))
        return 0
    rows = []
    for label in MODES[args.mode]:
        for page, found in run_mode(label, args):
            if args.sql:
                print(f"--- {label} {page}: the SQL of one page ---", *found["sql"], sep="\n")
            if found["profile"]:
                print(f"--- {label} {page}: cProfile of {args.requests} pages ---")
                print(found["profile"])
            rows.append((label, page, found))
    print(f"{args.requests} pages per mode and page, in-process; {os.cpu_count()} CPUs")
    print("mode        page      queries  db trips  cache calls  cpu ms/page  wall ms (median)")
    for label, page, r in rows:
        trips = "-" if r["db_round_trips"] is None else f"{r['db_round_trips']:.1f}"
        print(
            f"{label:<11} {page:<8}  {r['queries']:>7.1f}  {trips:>8}  {r['cache_calls']:>11.1f}"
            f"  {r['cpu_ms']:>11.3f}  {r['wall_ms']:>16.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
