"""API benchmark: the ``/api/v1`` speed targets, next to a bare WSGI app on the same server.

    .venv/bin/python bench/api.py [--duration 10] [--server-threads 1 --server-threads 2 ...]
                                  [--threads 2] [--connections 16] [--profile 300]

Targets: listing 20 pets ≥ 1,000 req/s per app core with p95 ≤ 50 ms; adding a health
record ≥ 800 req/s per app core. (The warm PDF report, ≤ 50 ms median, is measured by
``bench/report.py``.)

Steps: migrate a fresh data directory in a temporary folder (embedded mode, as
``bench/web.py`` does); in a subprocess, make a user with a verified email and a household of
20 pets with three records each; for each ``--server-threads`` value start ``pawfile web
--workers 1 --threads N`` on a free 127.0.0.1 port, get a JWT from the headless login, record
one real response of each endpoint and load it with ``wrk --latency`` (a Lua script sends the
token and the JSON body and prints p95); keep the thread count with the better results and load
``bench/bare.py`` replaying the recorded bytes on granian with that count. Prints ``endpoint |
server | req/s | p50 | p95 | p99 | ratio to bare | server CPU | req/s per server core | other
CPU | target``, where CPU is in cores, measured from ``/proc`` during each run: the server's
whole process group, and everything else on the machine but wrk.

With ``--profile N``, the same two requests are then also made N times each inside this
process through Django's test client, timed and profiled with cProfile: the table shows
where the time per request goes, by package and by function.

Everything listens on 127.0.0.1 only. Every step has a time limit, and the servers (whole
process groups) and the temporary folder are removed on exit, including on Ctrl-C.
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
import base64
import datetime as dt
import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from measure import cpu_snapshot, load_line, pinned, placement, profile, table

EMAIL = "bench@example.org"
PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - a throwaway account in a temp dir
PETS = 20
RECORD_BODY = {"kind": "vaccination", "name": "Rabies", "date": "2025-03-01"}

# Each run is bounded; the access token outlives all of them.
API_ENV = {
    "PAWFILE_API_RATELIMIT_USER": "100000000/60",
    "PAWFILE_API_RATELIMIT_IP": "100000000/60",
    "PAWFILE_JWT_ACCESS_TTL": "7200",
    "PAWFILE_LOG_LEVEL": "WARNING",
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # may hold {pet_id}
    status: int  # the expected answer
    target_rps: float  # per server core
    target_p95_ms: float | None


ENDPOINTS = (
    Endpoint("list 20 pets", "GET", "/api/v1/pets?limit=20", 200, 1000, 50),
    Endpoint("add a record", "POST", "/api/v1/pets/{pet_id}/records", 201, 800, None),
)


@dataclass
class Result:
    endpoint: Endpoint
    server: str
    threads: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    server_cores: float | None  # CPU used by the server during the run, in cores
    other_cores: float | None  # CPU used by everything but the server and wrk
    errors: str

    @property
    def rps_per_core(self) -> float | None:
        return self.rps / self.server_cores if self.server_cores else None

    def verdict(self) -> str:
        per_core = self.rps_per_core
        if self.server == "bare" or per_core is None:
            return "-"
        target = self.endpoint
        ok = per_core >= target.target_rps and not self.errors
        wanted = f"≥{target.target_rps:.0f}/core"
        if target.target_p95_ms is not None:
            ok = ok and self.p95_ms <= target.target_p95_ms
            wanted += f", p95 ≤{target.target_p95_ms:.0f}"
        return ("met" if ok else "MISSED") + f" ({wanted})"


def http_helpers() -> ModuleType:
    """``bench/web.py`` (server start/stop, environment, migrations, wrk), loaded by path."""
    spec = importlib.util.spec_from_file_location("pawfile_bench_web", BENCH_DIR / "web.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# --- Data (runs in a subprocess: ``api.py --seed``) ------------------------------------------


def seed() -> dict[str, Any]:
    """A user with a verified email and a household of ``PETS`` pets with three records each."""
    import django

    django.setup()
    from allauth.account.models import EmailAddress
    from django.utils import timezone

    from pawfile.accounts.models import Household
    from pawfile.accounts.services import user_create
    from pawfile.health.services import record_create, weight_record
    from pawfile.pets.services import pet_create

    user = user_create(email=EMAIL, password=PASSWORD, name="Bench Owner")
    EmailAddress.objects.create(user=user, email=EMAIL, primary=True, verified=True)
    household = Household.objects.get(memberships__user=user)
    today = timezone.localdate()
    pet_ids = []
    for n in range(PETS):
        pet = pet_create(
            actor=user, household=household, name=f"Pet {n:02d}",
            species="dog" if n % 2 else "cat", breed="Mixed", microchip=f"9410000{n:08d}",
        )  # fmt: skip
        record_create(
            actor=user, pet=pet, kind="vaccination", name="Rabies",
            date=today - dt.timedelta(days=100), next_due=today + dt.timedelta(days=265),
        )  # fmt: skip
        record_create(actor=user, pet=pet, kind="deworming", name="Milbemax", date=today)
        weight_record(actor=user, pet=pet, value="12.5", unit="kg", date=today)
        pet_ids.append(pet.pk)
    return {"pet_ids": pet_ids}


def seed_in_subprocess(helpers: ModuleType, env: dict[str, str], cwd: Path) -> list[int]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--seed"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise helpers.BenchError(f"making the data failed:\n{done.stderr[-3000:]}")
    return list(json.loads(done.stdout.strip().splitlines()[-1])["pet_ids"])


# --- HTTP ------------------------------------------------------------------------------------


def call(
    helpers: ModuleType, port: int, method: str, path: str, token: str = "", body: Any = None
) -> tuple[int, list[tuple[str, str]], str, bytes]:
    """``(status, headers, reason, body)`` of one request to the server on ``port``."""
    headers = {"Host": f"{helpers.HOST}:{port}", "Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(helpers.HOST, port, timeout=30)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        content = response.read()
    finally:
        conn.close()
    return response.status, response.getheaders(), response.reason, content


def login(helpers: ModuleType, port: int) -> str:
    """An access token from the headless (app) login."""
    body = {"email": EMAIL, "password": PASSWORD}
    status, _, _, content = call(helpers, port, "POST", "/_allauth/app/v1/auth/login", body=body)
    if status != 200:
        raise helpers.BenchError(f"login answered {status}: {content[:500]!r}")
    return str(json.loads(content)["meta"]["access_token"])


def record(
    helpers: ModuleType, port: int, endpoint: Endpoint, path: str, token: str
) -> dict[str, object]:
    """One real response, checked, in the shape ``bench/bare.py`` replays."""
    body = RECORD_BODY if endpoint.method == "POST" else None
    status, headers, reason, content = call(helpers, port, endpoint.method, path, token, body)
    if status != endpoint.status:
        raise helpers.BenchError(f"{endpoint.method} {path} answered {status}: {content[:500]!r}")
    kept = [[k, v] for k, v in headers if k.lower() not in helpers.SERVER_HEADERS]
    return {
        "status": f"{status} {reason}",
        "headers": kept,
        "body": base64.b64encode(content).decode("ascii"),
    }


def lua_script(endpoint: Endpoint, token: str) -> str:
    """wrk script: method, token, JSON body; ``done`` prints the 95th percentile."""
    lines = [
        f'wrk.method = "{endpoint.method}"',
        f'wrk.headers["Authorization"] = "Bearer {token}"',
    ]
    if endpoint.method == "POST":
        lines += [
            'wrk.headers["Content-Type"] = "application/json"',
            f"wrk.body = [==[{json.dumps(RECORD_BODY)}]==]",
        ]
    lines += [
        "function done(summary, latency, requests)",
        '  io.write(string.format("p95_us %d\\n", latency:percentile(95)))',
        "end",
    ]
    return "\n".join(lines) + "\n"


P95_RE = re.compile(r"^p95_us (\d+)$", re.MULTILINE)


# --- CPU accounting (Linux /proc; elsewhere the columns show "-") ----------------------------


def run_wrk(
    helpers: ModuleType, args: argparse.Namespace, url: str, script: Path, duration: float
) -> tuple[str, float | None, float | None]:
    """wrk's output, the server's CPU and everything else's (wrk excluded), in cores."""
    command = [
        *pinned(args.pin, "load"), "wrk", f"-t{args.threads}", f"-c{args.connections}",
        f"-d{duration:g}s", "--timeout", "5s", "--latency", "-s", str(script), url,
    ]  # fmt: skip
    server_before, busy_before, wrk_before = cpu_snapshot()
    start = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=False
    )
    wall = time.monotonic() - start
    server_after, busy_after, wrk_used = cpu_snapshot()
    if done.returncode != 0:
        raise helpers.BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    server = other = None
    if server_before is not None and server_after is not None:
        server = (server_after - server_before) / wall
        if busy_before is not None and busy_after is not None:
            busy = (busy_after - busy_before) / wall
            other = max(0.0, busy - server - (wrk_used - wrk_before) / wall)
    return done.stdout, server, other


def measure(
    helpers: ModuleType,
    args: argparse.Namespace,
    port: int,
    server: str,
    threads: int,
    targets: Sequence[tuple[Endpoint, str, Path]],
) -> list[Result]:
    results = []
    for endpoint, path, script in targets:
        url = f"http://{helpers.HOST}:{port}{path}"
        if args.warmup > 0:
            run_wrk(helpers, args, url, script, args.warmup)
        output, server_cores, other_cores = run_wrk(helpers, args, url, script, args.duration)
        rps, p50, p99, errors = helpers.parse_wrk(output)
        p95 = P95_RE.search(output)
        if p95 is None:
            raise helpers.BenchError(f"wrk printed no p95:\n{output}")
        result = Result(
            endpoint, server, threads, rps, p50, int(p95.group(1)) / 1000, p99,
            server_cores, other_cores, errors,
        )  # fmt: skip
        results.append(result)
        cores = f"{server_cores:.2f}" if server_cores is not None else "-"
        print(
            f"  {server:<7} t={threads:<2} {endpoint.name:<13} {rps:>7.0f} req/s  "
            f"p50 {p50:.1f} ms  p95 {result.p95_ms:.1f} ms  p99 {p99:.1f} ms  "
            f"server CPU {cores} cores",
            flush=True,
        )
    return results


def score(results: Sequence[Result]) -> float:
    """How close a server setting comes to the targets (higher is better)."""
    return sum(r.rps / r.endpoint.target_rps for r in results)


# --- Run -------------------------------------------------------------------------------------


def run_server(
    helpers: ModuleType,
    args: argparse.Namespace,
    work: Path,
    env: dict[str, str],
    pet_id: int,
    threads: int,
    use_cli: bool,
) -> tuple[list[Result], dict[str, object]]:
    """Load each endpoint on ``pawfile web`` with ``threads``; also return its responses."""
    port = helpers.free_port()
    command = [*pinned(args.pin, "server"), *helpers.real_server_command(port, threads, use_cli)]
    name = "pawfile web" if use_cli else "granian"
    print(f"Starting {name} --threads {threads} on {helpers.HOST}:{port}", flush=True)
    log = work / f"pawfile-{threads}.log"
    recorded: dict[str, object] = {}
    targets = []
    with helpers.server(command, env, work, log):
        helpers.wait_ready(port, "/health", log)
        token = login(helpers, port)
        for endpoint in ENDPOINTS:
            path = endpoint.path.format(pet_id=pet_id)
            # The bare app answers by path alone; its query string is ignored.
            recorded[path.split("?", 1)[0]] = record(helpers, port, endpoint, path, token)
            script = work / f"{endpoint.method.lower()}.lua"
            script.write_text(lua_script(endpoint, token), encoding="utf-8")
            targets.append((endpoint, path, script))
        results = measure(helpers, args, port, "pawfile", threads, targets)
    return results, {"recorded": recorded, "targets": targets}


def run_bare(
    helpers: ModuleType,
    args: argparse.Namespace,
    work: Path,
    env: dict[str, str],
    threads: int,
    replay: dict[str, Any],
) -> list[Result]:
    app_dir = work / "bare"
    app_dir.mkdir(exist_ok=True)
    shutil.copy(BENCH_DIR / "bare.py", app_dir / "bare.py")
    responses = work / "responses.json"
    responses.write_text(json.dumps(replay["recorded"]), encoding="utf-8")
    bare_env = {**env, "PAWFILE_BENCH_RESPONSES": str(responses), "PYTHONPATH": str(app_dir)}
    port = helpers.free_port()
    print(f"Starting the bare app --threads {threads} on {helpers.HOST}:{port}", flush=True)
    bare = helpers.granian_command("bare:application", port, threads)
    command = [*pinned(args.pin, "server"), *bare]
    with helpers.server(command, bare_env, work, work / "bare.log"):
        first = next(iter(replay["recorded"]))
        helpers.wait_ready(port, first, work / "bare.log")
        return measure(helpers, args, port, "bare", threads, replay["targets"])


def run(args: argparse.Namespace) -> tuple[list[Result], int, str]:
    helpers = http_helpers()
    work = Path(tempfile.mkdtemp(prefix="pawfile-bench-api-"))
    cwd = Path.cwd()
    try:
        data_dir = work / "data"
        data_dir.mkdir()
        env = {**helpers.bench_env(data_dir), **API_ENV}
        print("Migrating a fresh data directory...", flush=True)
        helpers.migrate(env, work)
        print(f"Making a user with {PETS} pets...", flush=True)
        pet_id = seed_in_subprocess(helpers, env, work)[0]
        results: list[Result] = []
        best: tuple[float, int, dict[str, Any]] | None = None
        if not args.profile_only:
            use_cli = not args.granian and helpers.pawfile_web_available(env)
            for threads in args.server_threads:
                found, replay = run_server(helpers, args, work, env, pet_id, threads, use_cli)
                results += found
                if best is None or score(found) > best[0]:
                    best = (score(found), threads, replay)
            assert best is not None
            results += run_bare(helpers, args, work, env, best[1], best[2])
        report = (
            profile(
                env,
                work,
                pet_id,
                args.profile,
                ENDPOINTS,
                {"email": EMAIL, "password": PASSWORD},
                RECORD_BODY,
            )
            if args.profile
            else ""
        )
        return results, best[1] if best else 0, report
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so the servers and the temporary folder are cleaned up


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per run (10)")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds first (2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument(
        "--server-threads",
        type=int,
        action="append",
        help="request threads of the one worker (repeatable; default 4 and 8, the better kept)",
    )
    parser.add_argument(
        "--granian", action="store_true", help="start granian directly, not `pawfile web`"
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="also profile N requests in-process"
    )
    parser.add_argument("--profile-only", action="store_true", help="skip the HTTP load")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the server and wrk on CPUs of their own (default on; --no-pin to share)",
    )
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed:  # the data step, run in a subprocess with the benchmark's environment
        print(json.dumps(seed()))
        return 0
    args.server_threads = args.server_threads or [1, 2, 4]
    if args.profile_only:
        args.profile = args.profile or 300
    elif not shutil.which("wrk"):
        print(http_helpers().WRK_MISSING, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    before = load_line()
    try:
        results, kept, report = run(args)
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temporary files removed", file=sys.stderr)
        return 130
    except Exception as exc:  # a failed step: say which, clean up (done above), exit 1
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print()
    print(f"load before: {before}")
    print(f"load after:  {load_line()}")
    if results:
        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency; "
            f"one worker, request threads {'/'.join(map(str, args.server_threads))} "
            f"(kept {kept}, bare app on the same); {os.cpu_count()} CPUs, {placement(args.pin)}; "
            "CPU columns in cores; the warm PDF report is measured by bench/report.py"
        )
        print(table(results))
    if report:
        print()
        print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
