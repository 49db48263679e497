"""What one ``/r/{id}`` scan costs in-process: the request's CPU, the flush's, and where it goes.

    .venv/bin/python bench/redirect_cost.py [--mode embedded|scale-out|both] [--requests 20000]
                                            [--rounds 5] [--profile 25]
                                            [--redis redis://127.0.0.1:6379/0]

For each mode: a fresh data directory (scale-out: a PostgreSQL database and a Redis prefix of
its own, ``bench/scaleout.py``), migrated; then, in a subprocess with the mode's environment,
one code made as ``bench/redirect.py`` makes it, and the WSGI application granian serves
(``pawfile.config.wsgi:application`` behind ``stopsignal.wsgi_closing_when_stopping``, as
``cli.processes.wsgi_app`` loads it) called directly with the environ of a plain GET (what
``wrk`` sends: a ``Host`` header, no agent; ``phone`` adds a phone's user agent, a referrer
and the printed ``?q``). The flush interval is set to an hour, so the scans wait in the buffer
while the requests are measured; then one ``scans.scan_buffer_flush`` writes them all. Each
client gets ``--rounds`` rounds (the user agent parser's warm-up thread finished first), and
the table shows the best round of each figure (other work on a shared machine only adds).
Per scan:

* ``request µs``: the CPU time of the thread that called the application (the hot path);
* ``process µs``: the CPU time of the whole process over the same loop (adds the redirect's
  refresher, which polls the generation every 0.5 s);
* ``flush µs``: the CPU time of the flush that wrote them (rows, the counts, the hooks);
* ``total µs``: process and flush, what a scan costs the server's process in all;
* ``bare µs``: ``bench/bare.py``'s answer of the same 302 called the same way (the floor of
  the Python part; granian's own cost per request, ~30 µs, is in neither).

Every run checks that the code's ``scan_count`` and its ``Scan`` rows equal the requests made.
``--profile N`` adds a cProfile of as many requests again (and their flush): the N functions
with the most internal time. No HTTP server: ``bench/redirect.py`` measures the served
redirect. Not part of the product.
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
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from scaleout import DEFAULT_POSTGRES, DEFAULT_REDIS, mode_services

MODES = {"embedded": ("embedded",), "scale-out": ("scale-out",), "both": ("embedded", "scale-out")}
CLIENTS = ("wrk", "phone")
PHONE_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def environ_of(path: str, client: str) -> dict[str, Any]:
    """The environ granian hands the application for a GET of ``path`` by ``client``."""
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }  # fmt: skip
    if client == "phone":
        environ["QUERY_STRING"] = "q"
        environ["HTTP_USER_AGENT"] = PHONE_AGENT
        environ["HTTP_REFERER"] = "https://example.org/"
        environ["HTTP_ACCEPT_LANGUAGE"] = "es-ES,es;q=0.9"
    return environ


def calls(app: Callable[..., Any], environ: dict[str, Any], n: int) -> tuple[str, Any]:
    """Call ``app`` ``n`` times with ``environ`` as a server would; the last status and
    headers."""
    answer: list[Any] = ["", []]

    def start_response(line: str, headers: Any, exc_info: Any = None) -> Callable[..., Any]:
        answer[0], answer[1] = line, headers
        return answer.append

    for _ in range(n):
        result = app(environ, start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return answer[0], answer[1]


def _bare(path: str, status: str, headers: list[tuple[str, str]]) -> Callable[..., Any]:
    """``bench/bare.py``'s application, replaying ``status`` and ``headers`` for ``path``."""
    folder = Path(tempfile.mkdtemp(prefix="pawfile-bench-bare-"))
    responses = folder / "responses.json"
    recorded = {path: {"status": status, "headers": [list(h) for h in headers], "body": ""}}
    responses.write_text(json.dumps(recorded), encoding="utf-8")
    os.environ["PAWFILE_BENCH_RESPONSES"] = str(responses)
    import bare

    shutil.rmtree(folder, ignore_errors=True)
    return bare.application


def inner(requests: int, rounds: int, profile: int) -> dict[str, Any]:
    """Make the code, then measure (in the subprocess, with the mode's environment)."""
    import cProfile
    import pstats

    from pawfile.config.wsgi import application as django_app
    from pawfile.lib.stopsignal import wsgi_closing_when_stopping

    app = wsgi_closing_when_stopping(django_app)
    from pawfile.accounts.models import User
    from pawfile.qr import scans
    from pawfile.qr.models import QRCode, Scan
    from pawfile.qr.services import code_create

    user = User.objects.create(email="bench@example.org", is_staff=True, is_superuser=True)
    code = code_create(actor=user, title="Bench", target_url="https://shelter.example/adopt")
    path = f"/r/{code.id}"
    status, headers = calls(app, environ_of(path, "wrk"), 1)
    if not status.startswith("302"):
        raise SystemExit(f"GET {path} answered {status}")
    bare = _bare(path, status, headers)
    results: dict[str, Any] = {}
    made = 1
    top = ""
    for thread in threading.enumerate():  # the user agent parser's warm-up (a second or two)
        if thread.name == "qr-agents":
            thread.join()
    for client in CLIENTS:
        environ = environ_of(path, client)
        calls(app, environ, 1000)  # warm-up
        scans.scan_buffer_flush()
        made += 1000
        best: dict[str, float] = {}
        for _round in range(rounds):  # the best of each: other work only ever adds
            thread0, process0 = time.thread_time(), time.process_time()
            calls(app, environ, requests)
            thread1, process1 = time.thread_time(), time.process_time()
            waiting = len(scans.buffer)
            scans.scan_buffer_flush()
            thread2 = time.thread_time()
            made += requests
            if waiting != requests:
                raise SystemExit(f"{requests} requests, {waiting} scans buffered")
            calls(bare, environ, 1000)
            bare0 = time.thread_time()
            calls(bare, environ, requests)
            bare1 = time.thread_time()
            for name, seconds in (
                ("request_us", thread1 - thread0),
                ("process_us", process1 - process0),
                ("flush_us", thread2 - thread1),
                ("total_us", process1 - process0 + thread2 - thread1),
                ("bare_us", bare1 - bare0),
            ):
                per_scan = seconds * 1e6 / requests
                best[name] = min(best.get(name, per_scan), per_scan)
        results[client] = best
        if profile:  # a pass of its own: the profiler's overhead stays out of the figures
            profiler = cProfile.Profile()
            profiler.enable()
            calls(app, environ, requests)
            scans.scan_buffer_flush()
            profiler.disable()
            made += requests
            out = io.StringIO()
            out.write(f"--- {client} ---\n")
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(profile)
            top += out.getvalue()
    code.refresh_from_db()
    rows = Scan.objects.filter(code_id=code.id).count()
    if not code.scan_count == rows == made:
        raise SystemExit(f"{made} scans made: scan_count {code.scan_count}, {rows} rows")
    assert QRCode.objects.count() == 1
    return {"clients": results, "scans": made, "profile": top}


def run_mode(label: str, args: argparse.Namespace) -> dict[str, Any]:
    import web

    work = Path(tempfile.mkdtemp(prefix="pawfile-bench-redirectcost-"))
    services = mode_services(label, args.postgres, args.redis)
    try:
        with services as service_env:
            data_dir = work / "data"
            data_dir.mkdir()
            env = {**web.bench_env(data_dir), **service_env}
            env["PAWFILE_QR_FLUSH_INTERVAL_MS"] = "3600000"  # the bench flushes when it measures
            web.migrate(env, work)
            command = [sys.executable, str(Path(__file__).resolve()), "--inner"]
            command += ["--requests", str(args.requests), "--rounds", str(args.rounds)]
            command += ["--profile", str(args.profile)]
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
    add("--requests", type=int, default=20_000, help="requests per round (20,000)")
    add("--rounds", type=int, default=5, help="rounds per client; the best is shown (5)")
    add("--profile", type=int, default=0, help="print the N costliest functions (0: none)")
    add("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server (scale-out)")
    add("--redis", default=DEFAULT_REDIS, help="Redis server (scale-out)")
    add("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        import django

        django.setup()
        print(json.dumps(inner(args.requests, args.rounds, args.profile)))
        return 0
    rows = []
    for label in MODES[args.mode]:
        found = run_mode(label, args)
        if found["profile"]:
            print(f"--- {label}: cProfile of {args.requests} requests ---\n{found['profile']}")
        rows.append((label, found))
    print(
        f"CPU µs per scan, in-process, best of {args.rounds} rounds of {args.requests} requests; "
        f"{os.cpu_count()} CPUs"
    )
    print("mode       client  request µs  process µs  flush µs  total µs  bare µs")
    for label, found in rows:
        for client, r in found["clients"].items():
            print(
                f"{label:<10} {client:<6} {r['request_us']:>10.2f}  {r['process_us']:>10.2f}  "
                f"{r['flush_us']:>8.2f}  {r['total_us']:>8.2f}  {r['bare_us']:>7.2f}"
            )
        print(f"{label:<10} every scan counted: {found['scans']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
