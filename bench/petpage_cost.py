"""What one signed-in pet page costs in-process: queries, cache calls, CPU, and where it goes.

    .venv/bin/python bench/petpage_cost.py [--mode embedded|scale-out|both] [--requests 300]
                                           [--profile 25] [--redis redis://127.0.0.1:6379/0]

For each mode: a fresh data directory (scale-out: a PostgreSQL database and a Redis prefix of
its own, ``bench/scaleout.py``), migrated; then, in a subprocess with the mode's environment,
the well-filled pet of ``bench/petpage.py --seed`` and its owner's session, and the WSGI
application granian serves (``pawfile.config.wsgi:application``) called directly: 20 warm-up
pages (the cards' cache filled), then, per page,

* ``queries``: SQL statements (Django's execute wrapper), in a pass of ``--requests`` pages
  of its own (a watched connection runs the hand-written SQL on Django's slower cursor);
* in five unwatched rounds of ``--requests`` pages: ``db round trips`` on PostgreSQL
  (statements plus ``BEGIN``/``COMMIT`` and health checks, counted in psycopg);
  ``cache calls``: Redis commands (scale-out) or calls to the in-process cache (embedded);
  ``cpu ms``: this process's CPU time per page, the median round's (a measure that does not
  depend on how busy the machine is, unlike a wall clock under other load), and the median
  wall time.

``--profile N`` adds a cProfile of as many pages again, after the measured ones: the N
functions with the most cumulative time (its overhead is not in the figures;
``PETPAGE_PROFILE_TIMER=cpu`` times it in CPU time, without the waits); ``--sql``
prints the statements of one page. No HTTP server, no ``wrk``: ``bench/petpage.py`` measures
the served page. Not part of the product.
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

from scaleout import DEFAULT_POSTGRES, DEFAULT_REDIS, mode_services

ROUNDS = 5  # measured rounds of --requests pages; the CPU figure is the median round's
MODES = {"embedded": ("embedded",), "scale-out": ("scale-out",), "both": ("embedded", "scale-out")}


def page_call(app: Callable[..., Any], path: str, cookie: str) -> tuple[int, list[Any], bytes]:
    """``(status, headers, body)`` of one GET of ``path`` with ``cookie``, as a browser asks."""
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000", "HTTP_COOKIE": cookie,
        "HTTP_ACCEPT": "text/html", "HTTP_ACCEPT_LANGUAGE": "en",
        "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }  # fmt: skip
    answer: list[Any] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[..., Any]:
        answer[:] = [status, headers]
        return lambda data: None

    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return int(answer[0].split(" ", 1)[0]), answer[1], content


def inner(requests: int, profile: int) -> dict[str, Any]:
    """Seed, then measure (in the subprocess, with the mode's environment)."""
    import cProfile
    import pstats
    from http.cookies import SimpleCookie

    import django

    django.setup()
    import petpage
    import roundtrips
    from django.conf import settings
    from django.db import connection

    data = petpage.seed()
    scaleout = connection.vendor == "postgresql"
    roundtrips._psycopg_counted()
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        roundtrips._redis_counted()
    else:
        roundtrips._cache_api_counted()
    # What granian serves: Django behind the front layers of pawfile/config/wsgi.py.
    from pawfile.config.wsgi import application as app

    path = f"/pets/{data['pet_id']}/"
    cookie = f"{data['session_cookie']}={data['session_key']}"
    status, headers, body = page_call(app, path, cookie)
    if status != 200 or b"Luna" not in body:
        raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
    jar = SimpleCookie()
    for name, value in headers:
        if name.lower() == "set-cookie":
            jar.load(value)
    cookie = "; ".join([cookie, *(f"{k}={m.value}" for k, m in jar.items())])
    for _ in range(20):  # the cards' cache filled, the session's user learnt
        page_call(app, path, cookie)

    # Statements are counted in a pass of their own: a watched connection runs the
    # hand-written SQL (lib.sqlrows) on Django's slower cursor, so the CPU is measured unwatched.
    statements = [0]
    sql: list[str] = []

    def wrapper(execute: Callable[..., Any], *args: Any) -> Any:
        statements[0] += 1
        if keep_sql[0]:
            sql.append(str(args[0])[:300])
        return execute(*args)

    keep_sql = [True]
    with connection.execute_wrapper(wrapper):
        page_call(app, path, cookie)  # the SQL of this page is kept
        keep_sql[0] = False
        statements[0] = 0
        for _ in range(requests):
            page_call(app, path, cookie)
    queries = statements[0] / requests

    # The CPU, unwatched: ROUNDS rounds of ``requests`` pages, the median round's figure.
    walls, cpus = [], []
    before = roundtrips.COUNTS.snapshot()
    for _round in range(ROUNDS):
        cpu_before = time.process_time()
        for _ in range(requests):
            start = time.perf_counter()
            status, _headers, body = page_call(app, path, cookie)
            walls.append((time.perf_counter() - start) * 1000)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}")
        cpus.append((time.process_time() - cpu_before) * 1000 / requests)
    after = roundtrips.COUNTS.snapshot()
    measured = requests * ROUNDS
    cpu = statistics.median(cpus)

    # PETPAGE_PROFILE_TIMER=cpu: the profile in this process's CPU time (waits on PostgreSQL
    # and Redis left out), instead of the wall clock
    timer = time.process_time if os.environ.get("PETPAGE_PROFILE_TIMER") == "cpu" else None
    profiler = (cProfile.Profile(timer) if timer else cProfile.Profile()) if profile else None
    if profiler:  # a pass of its own: the profiler's overhead stays out of the figures
        profiler.enable()
        for _ in range(requests):
            page_call(app, path, cookie)
        profiler.disable()
    top = ""
    if profiler:
        out = io.StringIO()
        # PETPAGE_PROFILE_SORT=tottime, PETPAGE_PROFILE_CALLEES=<regex>: other views of it
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(os.environ.get("PETPAGE_PROFILE_SORT", "cumulative"))
        stats.print_stats(profile)
        if os.environ.get("PETPAGE_PROFILE_CALLEES"):
            stats.print_callees(os.environ["PETPAGE_PROFILE_CALLEES"])
        top = out.getvalue()
        if os.environ.get("PETPAGE_PROFILE_DUMP"):  # a file for pstats, to read it otherwise
            profiler.dump_stats(os.environ["PETPAGE_PROFILE_DUMP"])
    return {
        "queries": queries,
        "db_round_trips": (after[1] - before[1]) / measured if scaleout else None,
        "cache_calls": (after[2] - before[2]) / measured,
        "cpu_ms": cpu,
        "wall_ms": statistics.median(walls),
        "bytes": len(body),
        "profile": top,
        "sql": sql,
    }


def run_mode(label: str, args: argparse.Namespace) -> dict[str, Any]:
    import web

    work = Path(tempfile.mkdtemp(prefix="pawfile-bench-petcost-"))
    services = mode_services(label, args.postgres, args.redis)
    try:
        with services as service_env:
            data_dir = work / "data"
            data_dir.mkdir()
            env = {**web.bench_env(data_dir), **service_env}
            web.migrate(env, work)
            command = [sys.executable, str(Path(__file__).resolve()), "--inner"]
            command += ["--requests", str(args.requests), "--profile", str(args.profile)]
            done = subprocess.run(
                command, env=env, cwd=work, capture_output=True, text=True, timeout=1800,
                check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"[{label}] failed:\n{done.stderr[-3000:]}")
            return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--mode", choices=sorted(MODES), default="both")
    add("--requests", type=int, default=300, help="measured pages (300)")
    add("--profile", type=int, default=0, help="print the N costliest functions (0: none)")
    add("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server (scale-out)")
    add("--redis", default=DEFAULT_REDIS, help="Redis server (scale-out)")
    add("--sql", action="store_true", help="print the SQL statements of one page")
    add("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        print(json.dumps(inner(args.requests, args.profile)))
        return 0
    rows = []
    for label in MODES[args.mode]:
        found = run_mode(label, args)
        if args.sql:
            print(f"--- {label}: the SQL of one page ---", *found["sql"], sep="\n")
        if found["profile"]:
            print(f"--- {label}: cProfile of {args.requests} pages ---\n{found['profile']}")
        rows.append((label, found))
    print(f"{args.requests} pages per mode, in-process; {os.cpu_count()} CPUs")
    print("mode        queries  db trips  cache calls  cpu ms/page  wall ms (median)  bytes")
    for label, r in rows:
        trips = "-" if r["db_round_trips"] is None else f"{r['db_round_trips']:.1f}"
        print(
            f"{label:<11} {r['queries']:>7.1f}  {trips:>8}  {r['cache_calls']:>11.1f}  "
            f"{r['cpu_ms']:>11.2f}  {r['wall_ms']:>16.2f}  {r['bytes']:>5}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
