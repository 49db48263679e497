"""Live inbox benchmark: what 500 open pages polling the bell cost the other pages.

    .venv/bin/python bench/inbox.py [--pollers 500] [--interval 1.5] [--duration 10]
                                    [--connections 8] [--server-threads 8] [--keep-env]
                                    [--no-pin] [--no-bare]

Migrates a fresh data directory (embedded mode: SQLite, in-process cache; with
``--keep-env`` the ``DATABASE_URL``/``REDIS_URL`` of the environment are used, scale-out),
makes one user per poller plus one reader, each with a session, and starts ``pawfile web``
(one worker). The server runs on CPU 0, ``wrk`` and the pollers on CPU 1 (``--pin``, on by
default with two CPUs or more; ``bench/measure.py``): on a real site the open pages are
browsers elsewhere, so their client's CPU must not be taken from the server.

Runs, each ``--duration`` seconds: the idle server (its CPU at rest); ``wrk`` on a signed-in
page (``/pets/``, the bell's count included) alone; the pollers alone (each an open
keep-alive connection asking ``/notifications/live`` with ``If-None-Match`` on a fixed
cadence of ``--interval`` seconds, as the page's script does; 304 while the inbox is
unchanged); ``wrk`` with the pollers; ``wrk`` alone again. Then, unless ``--no-bare``, the
same pollers against ``bench/bare.py`` replaying the recorded 304 on the same granian settings
and CPU: the HTTP server's own cost per poll, the floor.

The pollers' client is lean (one asyncio protocol per connection on raw sockets, a request
built once) and strict: a poll is due every ``--interval`` seconds from the last one sent,
not from its answer (the page's script waits for the answer, so this asks more of the
server); an answer that comes after the next poll was due makes that poll late, sent at once,
and the cadence goes on from there (no burst to catch up).
Prints ``case | req/s | p50 ms | p99 ms | vs alone`` for the page with the server's CPU in
cores, then polls/s served against the target, their share of 304 and their latency, the
server's CPU per poll (µs, above its idle use) and per page, and its thread count before
and with the pollers. Everything listens on 127.0.0.1; servers and the temporary folder are
removed on exit.
"""

# ruff: noqa: E402 - the standard library is imported after the sys.path fix below

from __future__ import annotations

import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from livepollers import LIVE_PATH, Pollers, window_polls
from measure import load_line, pinned, placement
from web import (
    BENCH_DIR,
    HOST,
    SERVER_HEADERS,
    BenchError,
    bench_env,
    free_port,
    granian_command,
    group_cpu_seconds,
    migrate,
    parse_wrk,
    pawfile_web_available,
    real_server_command,
    server,
    wait_ready,
)

SETUP = """
import json, sys
import django
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from importlib import import_module
from pawfile.accounts.models import User
store = import_module(settings.SESSION_ENGINE).SessionStore
count = int(sys.argv[1])
users = User.objects.bulk_create(
    User(email=f"poller{i}@bench.example", password="!") for i in range(count + 1)
)
keys = []
for user in User.objects.filter(email__endswith="@bench.example").order_by("pk"):
    session = store()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    keys.append(session.session_key)
print(json.dumps({"cookie": settings.SESSION_COOKIE_NAME, "keys": keys}))
"""


def sessions(env: dict[str, str], cwd: Path, count: int) -> tuple[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", SETUP, str(count)],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise BenchError(f"making the users failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return data["cookie"], data["keys"]


# --- The run -----------------------------------------------------------------------------------


def wrk(
    port: int, cookie: str, args: argparse.Namespace, duration: float
) -> tuple[float, float, float, str]:
    command = [
        *pinned(args.pin, "load"), "wrk", "-t2", f"-c{args.connections}", f"-d{duration:g}s",
        "--timeout", "5s", "--latency", "-H", f"Cookie: {cookie}", f"http://{HOST}:{port}/pets/",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"wrk failed: {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def threads_of_group(pgid: int) -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) == pgid:
                total += len(list((entry / "task").iterdir()))
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return total


class Meter:
    """CPU seconds of the server's process group over a stretch of wall time."""

    def __init__(self, group: int) -> None:
        self.group = group
        self.cpu = group_cpu_seconds(group)
        self.started = time.monotonic()

    def done(self) -> tuple[float, float]:
        """``(CPU seconds, wall seconds)`` since the start."""
        return group_cpu_seconds(self.group) - self.cpu, time.monotonic() - self.started


def live_response(port: int, cookie: str) -> tuple[str, dict[str, object]]:
    """The ETag of a fresh poll and the 304 the server answers to it, as ``bare.py`` replays."""
    headers = {"Host": f"{HOST}:{port}", "Cookie": cookie, "Accept": "application/json"}
    etag = ""
    for _ in range(2):
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        conn.request(
            "GET", LIVE_PATH, headers={**headers, **({"If-None-Match": etag} if etag else {})}
        )
        response = conn.getresponse()
        response.read()
        conn.close()
        etag = response.getheader("ETag") or ""
    if response.status != 304:
        raise BenchError(f"the live poll answered {response.status}, not 304, to its own ETag")
    kept = [[k, v] for k, v in response.getheaders() if k.lower() not in SERVER_HEADERS]
    return etag, {"status": "304 Not Modified", "headers": kept, "body": ""}


def run_real(
    args: argparse.Namespace, work: Path, env: dict[str, str], cookies: list[str]
) -> dict[str, Any]:
    port = free_port()
    use_cli = pawfile_web_available(env)
    command = [
        *pinned(args.pin, "server"),
        *real_server_command(port, args.server_threads, use_cli),
    ]
    found: dict[str, Any] = {"rows": []}
    with server(command, env, work, work / "pawfile.log") as process:
        group = process.pid
        wait_ready(port, "/health", work / "pawfile.log")
        reader = cookies[0]
        found["record"] = live_response(port, reader)[1]
        wrk(port, reader, args, 3)  # warm-up
        time.sleep(2)  # its last requests answered
        meter = Meter(group)
        time.sleep(min(args.duration, 5))
        cpu, wall = meter.done()
        found["idle_cores"] = idle = cpu / wall
        meter = Meter(group)
        alone = wrk(port, reader, args, args.duration)
        cpu, wall = meter.done()
        found["rows"].append(("page alone", *alone, cpu / wall))
        found["page_ms"] = 1000 * cpu / max(alone[0] * args.duration, 1)
        found["threads_idle"] = threads_of_group(group)
        pollers = Pollers(work, cookies[1:], port, args)
        try:
            pollers.wait_all_answered(args.interval)
            found["threads_busy"] = threads_of_group(group)
            before, meter = pollers.read(), Meter(group)
            time.sleep(args.duration)
            cpu, wall = meter.done()
            found["alone"] = window_polls(before, pollers.read())
            found["alone"]["us"] = 1e6 * (cpu - idle * wall) / max(found["alone"]["polls"], 1)
            found["alone"]["raw_us"] = 1e6 * cpu / max(found["alone"]["polls"], 1)
            found["alone"]["cores"] = cpu / wall
            before, meter = pollers.read(), Meter(group)
            busy = wrk(port, reader, args, args.duration)
            cpu, wall = meter.done()
            found["rows"].append((f"page + {len(cookies) - 1} pollers", *busy, cpu / wall))
            found["busy"] = window_polls(before, pollers.read())
            found["poll"] = pollers.stop()
        finally:
            pollers.kill()
        meter = Meter(group)
        again = wrk(port, reader, args, args.duration)
        cpu, wall = meter.done()
        found["rows"].append(("page alone again", *again, cpu / wall))
    return found


def run_bare(
    args: argparse.Namespace, work: Path, record: dict[str, object], cookies: list[str]
) -> dict[str, Any]:
    """The same pollers against granian answering the recorded 304 itself: the floor."""
    app_dir = work / "bare"
    app_dir.mkdir(exist_ok=True)
    shutil.copy(BENCH_DIR / "bare.py", app_dir / "bare.py")
    responses = work / "responses.json"
    responses.write_text(json.dumps({LIVE_PATH: record, "/health": record}))
    env = {**bench_env(work / "data"), "PAWFILE_BENCH_RESPONSES": str(responses),
           "PYTHONPATH": str(app_dir)}  # fmt: skip
    port = free_port()
    command = [*pinned(args.pin, "server"),
               *granian_command("bare:application", port, args.server_threads)]  # fmt: skip
    with server(command, env, work, work / "bare.log") as process:
        wait_ready(port, "/health", work / "bare.log")
        meter = Meter(process.pid)
        time.sleep(min(args.duration, 5))
        cpu, wall = meter.done()
        idle = cpu / wall
        pollers = Pollers(work, cookies[1:], port, args)
        try:
            pollers.wait_all_answered(args.interval)
            before, meter = pollers.read(), Meter(process.pid)
            time.sleep(args.duration)
            cpu, wall = meter.done()
            found = window_polls(before, pollers.read())
            found["us"] = 1e6 * (cpu - idle * wall) / max(found["polls"], 1)
            found["raw_us"] = 1e6 * cpu / max(found["polls"], 1)
            found["idle_ms"] = 1000 * idle
            pollers.stop()
        finally:
            pollers.kill()
    return found


def report(args: argparse.Namespace, real: dict[str, Any], bare: dict[str, Any] | None) -> None:
    rows = real["rows"]
    base = (rows[0][1] + rows[2][1]) / 2
    target = args.pollers / args.interval
    print(f"\nload: {load_line()}")
    print(f"{os.cpu_count()} CPUs, {placement(args.pin)} (the pollers with wrk); one worker, "
          f"{args.server_threads} request threads")  # fmt: skip
    print(f"\n/pets/ under wrk ({args.connections} connections, {args.duration:g} s each)")
    print(f"{'case':<24} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | vs alone | "
          "server cores | errors")  # fmt: skip
    for name, rps, p50, p99, errors, cores in rows:
        change = 100 * (rps / base - 1)
        print(
            f"{name:<24} | {rps:8.1f} | {p50:7.2f} | {p99:7.2f} | {change:+7.1f}% | "
            f"{cores:12.2f} | {errors}"
        )
    poll, alone, busy = real["poll"], real["alone"], real["busy"]
    print(
        f"\npollers ({args.pollers} every {args.interval:g} s, target {target:.0f} polls/s): "
        f"alone {alone['per_s']:.0f} polls/s served, {100 * alone['not_modified']:.1f}% 304, "
        f"{100 * alone['late']:.1f}% late; with wrk {busy['per_s']:.0f} polls/s, "
        f"{100 * busy['not_modified']:.1f}% 304, {100 * busy['late']:.1f}% late"
    )
    print(
        f"poll latency (once every poller was answered): p50 {poll['p50_ms']:.2f} ms, "
        f"p99 {poll['p99_ms']:.2f} ms, max {poll['max_ms']:.0f} ms; statuses {poll['status']}; "
        f"connections closed by the server: {poll['lost']}"
    )
    print(
        f"server threads: {real['threads_idle']} before the pollers, "
        f"{real['threads_busy']} with them"
    )
    share = alone["us"] * target / 1e6
    print(
        f"server CPU: idle {1000 * real['idle_cores']:.1f} ms/s; {real['page_ms']:.2f} ms per "
        f"/pets/ request; {alone['us']:.0f} µs per poll (pollers alone, above idle; "
        f"{alone['raw_us']:.0f} µs with it): "
        f"{args.pollers} pollers take {100 * share:.1f}% of one core, the CPU of "
        f"{1000 * share / real['page_ms']:.1f} pages/s"
    )
    if bare is not None:
        print(
            f"bare granian answering the same 304: {bare['us']:.0f} µs per poll "
            f"({bare['raw_us']:.0f} µs with its idle {bare['idle_ms']:.1f} ms/s; "
            f"{bare['per_s']:.0f} polls/s, {100 * bare['late']:.1f}% late): Pawfile adds "
            f"{alone['us'] - bare['us']:.0f} µs per poll"
        )


def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="pawfile-bench-inbox-"))
    try:
        data_dir = work / "data"
        data_dir.mkdir()
        env = bench_env(data_dir)
        if args.keep_env:
            env.update({k: os.environ[k] for k in ("DATABASE_URL", "REDIS_URL") if k in os.environ})
            env["PAWFILE_ALLOW_UNSHARED"] = "1"  # one node: its local files are the only ones
        print("Migrating, making users and sessions...", flush=True)
        migrate(env, work)
        cookie_name, keys = sessions(env, work, args.pollers)
        cookies = [f"{cookie_name}={key}" for key in keys]
        print("Measuring pawfile web...", flush=True)
        real = run_real(args, work, env, cookies)
        bare = None
        if args.bare:
            print("Measuring the bare app...", flush=True)
            bare = run_bare(args, work, real["record"], cookies)
        report(args, real, bare)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so the servers and the temporary folder are cleaned up


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pollers", type=int, default=500)
    parser.add_argument("--interval", type=float, default=1.5)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--server-threads", type=int, default=8)
    parser.add_argument("--keep-env", action="store_true")
    parser.add_argument(
        "--pin", action=argparse.BooleanOptionalAction, default=True,
        help="server on CPU 0, wrk and the pollers on CPU 1 (default on)",
    )  # fmt: skip
    parser.add_argument(
        "--bare", action=argparse.BooleanOptionalAction, default=True,
        help="also the pollers against bench/bare.py answering the same 304 (default on)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed")
    signal.signal(signal.SIGTERM, _terminate)
    try:
        run(args)
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temporary files removed", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
