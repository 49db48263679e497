"""Measuring helpers for the benchmarks: CPU placement, CPU time from ``/proc`` and
in-process profiles.

Loaded by ``bench/api.py``; not part of the product.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import shutil
import statistics
import subprocess
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# --- CPU placement ----------------------------------------------------------------------------


def cpu_split() -> tuple[str, str] | None:
    """``(server CPUs, load CPUs)`` for ``taskset -c``: the last CPU for wrk, the rest for
    the server; ``None`` with one CPU or without ``taskset``."""
    count = os.cpu_count() or 1
    if count < 2 or not shutil.which("taskset"):
        return None
    server = "0" if count == 2 else f"0-{count - 2}"
    return server, str(count - 1)


def placement(pin: bool) -> str:
    """Where ``pinned`` puts the server and wrk, in words for the table's heading."""
    split = cpu_split() if pin else None
    return f"server on CPU {split[0]}, wrk on CPU {split[1]}" if split else "not pinned"


def pinned(pin: bool, role: str) -> list[str]:
    """The ``taskset`` prefix that keeps the server (``role="server"``, with every process it
    starts) and wrk (``"load"``) on CPUs of their own; nothing when ``pin`` is false.

    Unpinned on a small machine, wrk's threads and the server's request threads take turns on
    the same cores; the server then pays for migrations and cold caches that a server with a
    machine of its own would not, and more request threads look far worse than they are."""
    split = cpu_split() if pin else None
    if split is None:
        return []
    return ["taskset", "-c", split[0] if role == "server" else split[1]]


def _proc_stats() -> dict[int, list[str]]:
    """``/proc/<pid>/stat`` fields after the command name, by pid."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        stats[int(entry.name)] = text[text.rindex(")") + 2 :].split()
    return stats


def server_cpu_seconds() -> float | None:
    """CPU time used so far by the server this process started (its whole session)."""
    if not Path("/proc/self/stat").exists():
        return None
    stats = _proc_stats()
    me = os.getpid()
    # Fields after the name: state, ppid, pgrp, session, ..., utime (index 11), stime (12).
    leaders = {pid for pid, f in stats.items() if int(f[1]) == me and int(f[3]) == pid}
    if not leaders:
        return None
    ticks = sum(int(f[11]) + int(f[12]) for f in stats.values() if int(f[3]) in leaders)
    return ticks / TICKS


def machine_busy_seconds() -> float | None:
    """CPU time all cores spent busy since boot (not idle, not waiting on I/O)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields[:8]]
    return (sum(values) - values[3] - values[4]) / TICKS


def load_line() -> str:
    """What ``uptime`` says (the load averages), or ``-`` where it cannot be read."""
    if shutil.which("uptime"):
        done = subprocess.run(["uptime"], capture_output=True, text=True, timeout=10, check=False)
        if done.stdout.strip():
            return done.stdout.strip()
    loadavg = Path("/proc/loadavg")
    return loadavg.read_text().strip() if loadavg.exists() else "-"


# --- Load ------------------------------------------------------------------------------------


# --- Profile (in this process, Django's test client) -----------------------------------------


def _component(filename: str, name: str) -> str:
    """Which package a profiled function belongs to."""
    if filename == "~":  # a built-in: named by its type or module
        if "sqlite3" in name:
            return "sqlite3 (C)"
        return "built-ins"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/pawfile/" in filename:
        parts = filename.rsplit("/pawfile/", 1)[1].split("/")
        return "pawfile." + parts[0].removesuffix(".py")
    return "stdlib"


def _where(filename: str, line: int, name: str) -> str:
    for marker in ("site-packages/", "/pawfile/"):
        if marker in filename:
            filename = ("pawfile/" if marker == "/pawfile/" else "") + filename.rsplit(marker, 1)[1]
            break
    else:
        filename = Path(filename).name
    return name if filename == "~" else f"{filename}:{line}({name})"


WRAPPER_SHARE = 0.75  # functions with more of the total than this are the request's wrappers


def profile_report(stats: pstats.Stats, requests: int, top: int = 18) -> str:
    """Own time by package, then the costliest functions by own and total time, per request."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_package: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in raw.items():
        by_package[_component(filename, name)] += own
        total += own
    ms = 1000 / requests
    out = [f"  own time by package, ms per request (total {total * ms:.2f} ms under cProfile):"]
    for package, own in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]:
        out.append(f"    {own * ms:7.3f}  {100 * own / total:4.1f}%  {package}")
    for title, index in (("own time", 2), ("total time with callees, below the handler chain", 3)):
        out.append(f"  top functions by {title}: ms/request, calls/request")
        # The middleware and handler chain wraps everything; what it calls is more telling.
        ranked = sorted(
            (kv for kv in raw.items() if kv[1][index] < WRAPPER_SHARE * total),
            key=lambda kv: -kv[1][index],
        )[:top]
        for (filename, line, name), values in ranked:
            calls = values[1] / requests
            where = _where(filename, line, name)
            out.append(f"    {values[index] * ms:7.3f}  {calls:6.1f}  {where}")
    return "\n".join(out)


def profile(
    env: dict[str, str],
    work: Path,
    pet_id: int,
    requests: int,
    endpoints: Sequence[Any],
    login: dict[str, str],
    body: dict[str, Any],
) -> str:
    """Time then profile ``requests`` of each endpoint through Django's test client."""
    os.environ.update(env)
    os.chdir(work)  # as the servers run: no .env file of the checkout is read
    import django

    django.setup()
    from django.test import Client

    client = Client()
    answer = client.post(
        "/_allauth/app/v1/auth/login",
        login,
        content_type="application/json",
    )
    token = answer.json()["meta"]["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    out = []
    for endpoint in endpoints:
        path = endpoint.path.format(pet_id=pet_id)

        def one(endpoint: Any = endpoint, path: str = path) -> None:
            if endpoint.method == "GET":
                response = client.get(path, headers=headers)
            else:
                response = client.post(path, body, content_type="application/json", headers=headers)
            assert response.status_code == endpoint.status, response.content[:300]

        for _ in range(20):
            one()  # warm: imports, URL resolver, prepared statements
        samples = []
        cpu_start = time.process_time()
        for _ in range(requests):
            start = time.perf_counter()
            one()
            samples.append((time.perf_counter() - start) * 1000)
        cpu_ms = (time.process_time() - cpu_start) * 1000 / requests
        samples.sort()
        out.append(
            f"{endpoint.method} {path}: {requests} requests in this process, no profiler: "
            f"median {statistics.median(samples):.2f} ms, "
            f"p95 {samples[int(0.95 * len(samples)) - 1]:.2f} ms, CPU {cpu_ms:.2f} ms a request "
            f"(≈ {1000 / cpu_ms:.0f} req/s per core without the HTTP server)"
        )
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            one()
        profiler.disable()
        out.append(profile_report(pstats.Stats(profiler), requests))
        out.append("")
    return "\n".join(out)


def _pid_cpu_seconds(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def services_cpu_seconds(
    database: str | None, postgres_url: str, redis_url: str
) -> dict[int, float] | None:
    """CPU seconds so far of each PostgreSQL server process connected to ``database`` and of
    the Redis server, by pid; ``None`` without a database (embedded mode) or when they run
    elsewhere. Redis is counted whole: other clients of the same server show here too."""
    local = ("127.0.0.1", "localhost", "::1")
    if database is None or not Path("/proc/self/stat").exists():
        return None
    if urlsplit(postgres_url).hostname not in local or urlsplit(redis_url).hostname not in local:
        return None
    import psycopg
    import redis

    with psycopg.connect(postgres_url.replace("postgres://", "postgresql://", 1)) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
        pids = {int(row[0]) for row in rows}
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        pids.add(int(client.info("server")["process_id"]))
    finally:
        client.close()
    found = {pid: _pid_cpu_seconds(pid) for pid in pids}
    return {pid: seconds for pid, seconds in found.items() if seconds is not None} or None


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes of ``after`` used since ``before`` (new ones from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def cpu_snapshot() -> tuple[float | None, float | None, float]:
    """CPU seconds so far of the server (``server_cpu_seconds``), of the whole machine
    (``machine_busy_seconds``) and of the children this process has waited for (the wrk
    runs); the difference of two snapshots over the wall time is each one's use in cores."""
    times = os.times()
    return server_cpu_seconds(), machine_busy_seconds(), times.children_user + times.children_system


def quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of ``ordered`` (sorted), nearest rank."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def timings_table(rows: dict[str, list[float]]) -> None:
    """Print ``case | runs | median ms | p95 ms | p99 ms | max ms`` for timings in seconds."""
    print("case | runs | median ms | p95 ms | p99 ms | max ms")
    for case, values in rows.items():
        ms = sorted(v * 1000 for v in values)
        print(
            f"{case} | {len(ms)} | {statistics.median(ms):.2f} | {quantile(ms, 0.95):.2f} | "
            f"{quantile(ms, 0.99):.2f} | {ms[-1]:.2f}"
        )
