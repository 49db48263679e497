"""Live inbox benchmark: what 500 open pages polling the bell cost the other pages.

    .venv/bin/python bench/inbox.py [--pollers 500] [--interval 1.5] [--duration 15]
                                    [--connections 8] [--server-threads 8] [--keep-env]

Migrates a fresh data directory (embedded mode: SQLite, in-process cache; with
``--keep-env`` the ``DATABASE_URL``/``REDIS_URL`` of the environment are used, scale-out),
makes one user per poller plus one reader, each with a session, and starts ``pawfile web``
(one worker). Then, with ``wrk`` on a signed-in page (``/pets/``, the bell's count
included): a baseline; the same with the pollers running (each an open keep-alive
connection asking ``/notifications/live`` with ``If-None-Match`` every ``--interval``
seconds, as the page's script does; the answer is 304 while the inbox is unchanged); the
baseline again. Prints ``case | req/s | p50 ms | p99 ms`` for the page, the pollers' own
figures (polls/s, share of 304, p50/p99) and the server's thread count while they ran.
Everything listens on 127.0.0.1; servers and the temporary folder are removed on exit.
"""

# ruff: noqa: E402 - the standard library is imported after the sys.path fix below

from __future__ import annotations

import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence

from web import (
    HOST,
    BenchError,
    bench_env,
    free_port,
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


# --- The pollers (run in a process of their own: --poll) -------------------------------------


async def _poller(port: int, cookie: str, interval: float, until: float, out: dict) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    etag = ""
    await asyncio.sleep(random.uniform(0, interval))
    while time.monotonic() < until:
        request = (
            f"GET /notifications/live HTTP/1.1\r\nHost: {HOST}:{port}\r\nCookie: {cookie}\r\n"
            + (f"If-None-Match: {etag}\r\n" if etag else "")
            + "Accept: application/json\r\n\r\n"
        )
        started = time.monotonic()
        writer.write(request.encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        length = int(headers.get("content-length", "0"))
        if length:
            await reader.readexactly(length)
        out["latency"].append(time.monotonic() - started)
        out["status"][status] = out["status"].get(status, 0) + 1
        out["answered"].add(cookie)
        etag = headers.get("etag", etag)
        await asyncio.sleep(interval)
    writer.close()


async def _progress(out: dict, path: Path, pollers: int, until: float) -> None:
    """Write ``<polls so far> <pollers answered at least once>`` to ``path`` twice a second."""
    while time.monotonic() < until:
        path.with_suffix(".tmp").write_text(f"{len(out['latency'])} {len(out['answered'])}")
        path.with_suffix(".tmp").replace(path)
        await asyncio.sleep(0.5)


async def _poll_all(
    port: int, cookies: list[str], interval: float, duration: float, progress: Path
) -> dict:
    out: dict = {"latency": [], "status": {}, "answered": set()}
    until = time.monotonic() + duration
    await asyncio.gather(
        _progress(out, progress, len(cookies), until),
        *(_poller(port, c, interval, until, out) for c in cookies),
    )
    out.pop("answered")
    return out


def poll_main(args: argparse.Namespace) -> int:
    cookies = json.loads(Path(args.poll).read_text())
    progress = Path(args.poll + ".progress")
    out = asyncio.run(_poll_all(args.port, cookies, args.interval, args.duration, progress))
    latency = sorted(out.pop("latency"))
    out["polls"] = len(latency)
    out["p50_ms"] = 1000 * statistics.median(latency) if latency else 0
    out["p99_ms"] = 1000 * latency[int(len(latency) * 0.99) - 1] if latency else 0
    print(json.dumps(out))
    return 0


# --- The run -----------------------------------------------------------------------------------


def _progress_read(path: Path) -> tuple[int, int]:
    """(polls so far, pollers answered) from the pollers' progress file; (0, 0) while it
    is missing or being written."""
    try:
        polls, answered = path.read_text().split()
        return int(polls), int(answered)
    except (OSError, ValueError):
        return 0, 0


def wrk(port: int, cookie: str, args: argparse.Namespace) -> tuple[float, float, float, str]:
    command = [
        "wrk", "-t2", f"-c{args.connections}", f"-d{args.duration:g}s", "--timeout", "5s",
        "--latency", "-H", f"Cookie: {cookie}", f"http://{HOST}:{port}/pets/",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=args.duration + 30, check=False
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


def cpu_of_group(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the processes of group ``pgid``."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (after the command name)
    return total / os.sysconf("SC_CLK_TCK")


def server_pgid(port: int) -> int | None:
    """The process group of whoever listens on ``port`` (the server we started)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f"{HOST}:{port}" in cmdline or f"--port {port}" in cmdline:
            try:
                return os.getpgid(int(entry.name))
            except ProcessLookupError:
                continue
    return None


def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="pawfile-bench-inbox-"))
    try:
        data_dir = work / "data"
        data_dir.mkdir()
        env = bench_env(data_dir)
        if args.keep_env:
            env.update({k: os.environ[k] for k in ("DATABASE_URL", "REDIS_URL") if k in os.environ})
        print("Migrating, making users and sessions...", flush=True)
        migrate(env, work)
        cookie_name, keys = sessions(env, work, args.pollers)
        reader_cookie = f"{cookie_name}={keys[0]}"
        poll_file = work / "cookies.json"
        poll_file.write_text(json.dumps([f"{cookie_name}={k}" for k in keys[1:]]))
        port = free_port()
        command = real_server_command(port, args.server_threads, pawfile_web_available(env))
        with server(command, env, work, work / "pawfile.log"):
            wait_ready(port, "/health", work / "pawfile.log")
            pgid = server_pgid(port)
            wrk(port, reader_cookie, argparse.Namespace(**{**vars(args), "duration": 3}))
            cpu_before = cpu_of_group(pgid) if pgid else 0.0
            rows = [("page alone", *wrk(port, reader_cookie, args))]
            page_cpu = (cpu_of_group(pgid) if pgid else 0.0) - cpu_before
            page_requests = rows[0][1] * args.duration
            threads_idle = threads_of_group(pgid) if pgid else 0
            pollers = subprocess.Popen(
                [sys.executable, __file__, "--poll", str(poll_file), "--port", str(port),
                 "--interval", str(args.interval), "--duration", str(args.duration + 40)],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            progress = Path(str(poll_file) + ".progress")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # every poller past its first (200) answer
                time.sleep(0.5)
                if _progress_read(progress)[1] >= args.pollers:
                    break
            time.sleep(2 * args.interval)
            threads_busy = threads_of_group(pgid) if pgid else 0
            # The pollers alone for a while: the server's CPU per (mostly 304) poll.
            polls_before = _progress_read(progress)[0]
            cpu_before, started = cpu_of_group(pgid) if pgid else 0.0, time.monotonic()
            time.sleep(5)
            poll_cpu = (cpu_of_group(pgid) if pgid else 0.0) - cpu_before
            window_polls = _progress_read(progress)[0] - polls_before
            window_seconds = time.monotonic() - started
            rows.append((f"page + {args.pollers} pollers", *wrk(port, reader_cookie, args)))
            out, _ = pollers.communicate(timeout=args.duration + 60)
            poll = json.loads(out.strip().splitlines()[-1])
            rows.append(("page alone again", *wrk(port, reader_cookie, args)))
        base = (rows[0][1] + rows[2][1]) / 2
        print(f"\n/pets/ under wrk ({args.connections} connections, {args.duration:g} s each)")
        print(f"{'case':<24} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | vs alone | errors")
        for name, rps, p50, p99, errors in rows:
            print(
                f"{name:<24} | {rps:8.1f} | {p50:7.2f} | {p99:7.2f} | "
                f"{100 * (rps / base - 1):+7.1f}% | {errors}"
            )
        per_poll_ms = 1000 * poll_cpu / max(window_polls, 1)
        per_page_ms = 1000 * page_cpu / max(page_requests, 1)
        print(
            f"\npollers: {poll['polls']} polls, statuses {poll['status']}, "
            f"p50 {poll['p50_ms']:.2f} ms, p99 {poll['p99_ms']:.2f} ms; alone: "
            f"{window_polls / window_seconds:.0f} polls/s"
        )
        print(f"server threads: {threads_idle} before the pollers, {threads_busy} with them")
        print(
            f"server CPU: {per_page_ms:.2f} ms per /pets/ request, {per_poll_ms:.3f} ms per poll "
            f"(pollers alone); {args.pollers} pollers every {args.interval:g} s use "
            f"{100 * per_poll_ms * args.pollers / args.interval / 1000:.1f}% of one core, "
            f"the CPU of {per_poll_ms * args.pollers / args.interval / per_page_ms:.1f} pages/s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pollers", type=int, default=500)
    parser.add_argument("--interval", type=float, default=1.5)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--server-threads", type=int, default=8)
    parser.add_argument("--keep-env", action="store_true")
    parser.add_argument("--poll", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.poll:
        return poll_main(args)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed")
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
