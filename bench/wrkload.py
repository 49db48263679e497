"""The HTTP load of ``bench/api.py``: what is loaded, the wrk scripts, one run and its result.

A run is ``wrk --latency`` with a Lua script that sends the access token (and the JSON body
of a POST) and prints the 95th percentile. With a token pool (``--fresh-token``) the script
reads the pool's file and every request carries the next token of it: each wrk thread walks
its own share of the pool, and ``done`` says how many times a thread came back to its first
token (a pool larger than the server's in-process token memory, 10,000 entries, is never
helped by it even then).

Loaded by ``bench/api.py``; not part of the product.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from measure import cpu_snapshot, cpu_used, pinned, services_cpu_seconds


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # may hold {pet_id}
    status: int  # the expected answer
    target_rps: float | None  # per server core
    target_p95_ms: float | None
    token: bool = True  # sends the access token


ENDPOINTS = (
    Endpoint("list 20 pets", "GET", "/api/v1/pets?limit=20", 200, 1000, 50),
    Endpoint("add a record", "POST", "/api/v1/pets/{pet_id}/records", 201, 800, None),
    Endpoint("/health", "GET", "/health", 200, None, None, token=False),
)


@dataclass(frozen=True)
class Variant:
    """Which of the API's shortcuts a run leaves out."""

    name: str
    fresh_token: bool = False  # every request a token the server has never seen
    orm: bool = False  # PAWFILE_SQLROWS=off: the ORM instead of the hand-written SQL

    def env(self) -> dict[str, str]:
        return {"PAWFILE_SQLROWS": "off"} if self.orm else {}


SHORTCUTS = Variant("shortcuts")


@dataclass
class Result:
    mode: str
    variant: str
    endpoint: Endpoint
    server: str
    threads: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    server_cores: float | None  # CPU used by the server during the run, in cores
    services_cores: float | None  # PostgreSQL backends of the bench database + Redis
    other_cores: float | None  # CPU used by everything else but wrk
    errors: str
    queries: float | None = None  # per request, counted in-process (bench/roundtrips.py)
    cache_calls: float | None = None

    @property
    def rps_per_core(self) -> float | None:
        return self.rps / self.server_cores if self.server_cores else None

    def verdict(self) -> str:
        per_core = self.rps_per_core
        target = self.endpoint
        if self.server == "bare" or per_core is None or target.target_rps is None:
            return "-"
        ok = per_core >= target.target_rps and not self.errors
        wanted = f"≥{target.target_rps:.0f}/core"
        if target.target_p95_ms is not None:
            ok = ok and self.p95_ms <= target.target_p95_ms
            wanted += f", p95 ≤{target.target_p95_ms:.0f}"
        return ("met" if ok else "MISSED") + f" ({wanted})"


def lua_script(
    endpoint: Endpoint, token: str, body: Any, pool: Path | None = None, threads: int = 1
) -> str:
    """wrk script: method, token (or the next of ``pool``, shared by ``threads`` wrk threads),
    JSON body; ``done`` prints the 95th percentile (and how often the pool wrapped)."""
    lines = [f'wrk.method = "{endpoint.method}"']
    if endpoint.token and pool is None:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    if endpoint.method == "POST":
        lines += [
            'wrk.headers["Content-Type"] = "application/json"',
            f"wrk.body = [==[{json.dumps(body)}]==]",
        ]
    if pool is not None:
        lines += [
            "local tokens = {}",
            f"for line in io.lines([==[{pool}]==]) do tokens[#tokens + 1] = line end",
            "local threads, count = {}, 0",
            "function setup(thread)",
            "  thread:set('id', count)",
            "  count = count + 1",
            "  table.insert(threads, thread)",
            "end",
            "function init(args)",
            "  wraps, at = 0, id + 1",
            "end",
            "function request()",
            "  if at > #tokens then",
            "    at, wraps = id + 1, wraps + 1",
            "  end",
            '  wrk.headers["Authorization"] = "Bearer " .. tokens[at]',
            f"  at = at + {threads}",
            "  return wrk.format()",
            "end",
        ]
    lines += [
        "function done(summary, latency, requests)",
        '  io.write(string.format("p95_us %d\\n", latency:percentile(95)))',
    ]
    if pool is not None:
        lines += [
            "  local wrapped = 0",
            "  for _, thread in ipairs(threads) do wrapped = wrapped + thread:get('wraps') end",
            '  io.write(string.format("token_wraps %d\\n", wrapped))',
        ]
    lines.append("end")
    return "\n".join(lines) + "\n"


P95_RE = re.compile(r"^p95_us (\d+)$", re.MULTILINE)
WRAPS_RE = re.compile(r"^token_wraps (\d+)$", re.MULTILINE)


def run_wrk(
    helpers: ModuleType,
    args: argparse.Namespace,
    url: str,
    script: Path,
    duration: float,
    database: str | None,
) -> tuple[str, float | None, float | None, float | None]:
    """wrk's output and, in cores: the server's CPU, PostgreSQL's and Redis's (scale-out,
    ``database`` named) and everything else's (wrk excluded)."""
    command = [
        *pinned(args.pin, "load"), "wrk", f"-t{args.threads}", f"-c{args.connections}",
        f"-d{duration:g}s", "--timeout", "5s", "--latency", "-s", str(script), url,
    ]  # fmt: skip
    services_before = services_cpu_seconds(database, args.postgres, args.redis)
    server_before, busy_before, wrk_before = cpu_snapshot()
    start = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=False
    )
    wall = time.monotonic() - start
    server_after, busy_after, wrk_used = cpu_snapshot()
    services_after = services_cpu_seconds(database, args.postgres, args.redis)
    if done.returncode != 0:
        raise helpers.BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    server = other = services = None
    if services_before is not None and services_after is not None:
        services = cpu_used(services_before, services_after) / wall
    if server_before is not None and server_after is not None:
        server = (server_after - server_before) / wall
        if busy_before is not None and busy_after is not None:
            busy = (busy_after - busy_before) / wall
            other = max(0.0, busy - server - (wrk_used - wrk_before) / wall - (services or 0))
    return done.stdout, server, services, other


def measure(
    helpers: ModuleType,
    args: argparse.Namespace,
    port: int,
    labels: tuple[str, str, str, int],
    targets: Sequence[tuple[Endpoint, str, Path]],
    database: str | None = None,
) -> list[Result]:
    """Load each ``(endpoint, path, script)`` of ``targets`` on ``port``; ``labels`` are
    ``(mode, variant, server, threads)``."""
    mode, variant, server, threads = labels
    results = []
    for endpoint, path, script in targets:
        url = f"http://{helpers.HOST}:{port}{path}"
        if args.warmup > 0:
            run_wrk(helpers, args, url, script, args.warmup, database)
        output, server_cores, services_cores, other_cores = run_wrk(
            helpers, args, url, script, args.duration, database
        )
        rps, p50, p99, errors = helpers.parse_wrk(output)
        p95 = P95_RE.search(output)
        if p95 is None:
            raise helpers.BenchError(f"wrk printed no p95:\n{output}")
        wraps = WRAPS_RE.search(output)
        if wraps and int(wraps.group(1)):
            errors = "; ".join(filter(None, [errors, f"token pool wrapped {wraps.group(1)}x"]))
        result = Result(
            mode, variant, endpoint, server, threads, rps, p50, int(p95.group(1)) / 1000, p99,
            server_cores, services_cores, other_cores, errors,
        )  # fmt: skip
        results.append(result)
        cores = f"{server_cores:.2f}" if server_cores is not None else "-"
        print(
            f"  {mode:<8} {variant:<16} {server:<7} t={threads:<2} {endpoint.name:<13} "
            f"{rps:>7.0f} req/s  p50 {p50:.1f} ms  p95 {result.p95_ms:.1f} ms  "
            f"p99 {p99:.1f} ms  server CPU {cores} cores",
            flush=True,
        )
    return results
