"""API benchmark: the ``/api/v1`` speed targets in both modes, with and without the shortcuts.

    .venv/bin/python bench/api.py [--mode embedded|scaleout|both] [--fresh-token] [--orm]
                                  [--duration 10] [--server-threads 1 --server-threads 2 ...]
                                  [--threads 2] [--connections 16] [--profile 300]

Targets: listing 20 pets ≥ 1,000 req/s per app core with p95 ≤ 50 ms; adding a health
record ≥ 800 req/s per app core, in both modes; scale-out within 30 % of embedded. (The warm
PDF report, ≤ 50 ms median, is measured by ``bench/report.py``.)

Steps, for each mode: migrate a fresh data directory in a temporary folder (embedded: SQLite
and the in-process cache, as ``bench/web.py`` does; scale-out: a PostgreSQL database and a
Redis prefix of the bench's own, see ``bench/scaleout.py``); make a user with a verified email
and a household of 20 pets with three records each, and with ``--fresh-token`` a pool of
access tokens (``bench/apidata.py``); for each ``--server-threads`` value start ``pawfile web
--workers 1 --threads N`` on a free 127.0.0.1 port, get a JWT from the headless login, record
one real response of each endpoint and load it with ``wrk --latency`` (``bench/wrkload.py``);
keep the thread count with the better results and run the shortcut variants with it:
``--fresh-token`` (every request a token the server never saw), ``--orm``
(``PAWFILE_SQLROWS=off``: the ORM instead of the hand-written SQL) and, with both, the two
together. Then count what one call costs in-process (``bench/roundtrips.py``: queries, round
trips, cache calls, CPU). Last, load ``bench/bare.py`` replaying the recorded bytes on
granian. Prints the runs (``bench/apitable.py``), the counts and the comparisons: scale-out
against embedded, each variant against the shortcuts.

CPU is in cores, measured from ``/proc`` during each run: the server's whole process group;
in scale-out the PostgreSQL processes of the bench database and the Redis server; everything
else on the machine but wrk.

With ``--profile N``, the same requests are also made N times each in a process of their own
through Django's test client, timed and profiled with cProfile: where the time per request
goes, by package and by function.

Everything listens on 127.0.0.1 only (PostgreSQL and Redis where ``--postgres`` and
``--redis`` say, by default the local ones). Every step has a time limit, and the servers
(whole process groups), the temporary folder, the bench database and its Redis keys are
removed on exit, including on Ctrl-C.
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
import http.client
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from apidata import EMAIL, PASSWORD, PETS, RECORD_BODY
from apitable import comparison, counts_table, table
from measure import load_line, pinned, placement, profile
from scaleout import DEFAULT_POSTGRES, DEFAULT_REDIS, ServiceError, mode_services
from wrkload import ENDPOINTS, SHORTCUTS, Endpoint, Result, Variant, lua_script, measure

# Each run is bounded; the access token outlives all of them. The issuer is fixed, so the
# pool's tokens (minted in a subprocess) are valid on whatever port a server listens.
API_ENV = {
    "PAWFILE_API_RATELIMIT_USER": "100000000/60",
    "PAWFILE_API_RATELIMIT_IP": "100000000/60",
    "PAWFILE_JWT_ACCESS_TTL": "7200",
    "PAWFILE_LOG_LEVEL": "WARNING",
    "PAWFILE_BASE_URL": "http://127.0.0.1:8000",
}
MODES = {"embedded": ("embedded",), "scaleout": ("scale-out",), "both": ("embedded", "scale-out")}
# A pool per endpoint above the server's in-process token memory (10,000 entries): a token
# met again after the pool wrapped has been forgotten.
POOL = 12_000


def http_helpers() -> ModuleType:
    """``bench/web.py`` (server start/stop, environment, migrations, wrk), loaded by path."""
    spec = importlib.util.spec_from_file_location("pawfile_bench_web", BENCH_DIR / "web.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# --- Data and counts (each in a subprocess with the mode's environment) ---------------------


def subprocess_json(helpers: ModuleType, command: list[str], env: dict[str, str], cwd: Path) -> Any:
    """Run ``command`` (a bench script) and return the JSON its last line prints."""
    done = subprocess.run(
        [sys.executable, *command], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=900, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise helpers.BenchError(f"{Path(command[0]).name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def data_make(
    helpers: ModuleType, env: dict[str, str], work: Path, pool: int
) -> tuple[int, list[Path]]:
    """Seed the mode's database; with ``pool``, mint that many tokens for each endpoint that
    sends one, each endpoint's in a file of its own. Returns a pet id and the files."""
    command = [str(BENCH_DIR / "apidata.py")]
    with_token = [e for e in ENDPOINTS if e.token]
    if pool:
        command += ["--tokens", str(pool * len(with_token)), "--tokens-file", str(work / "pool")]
    made = subprocess_json(helpers, command, env, work)
    files = []
    if pool:
        tokens = (work / "pool").read_text(encoding="ascii").split()
        for n, endpoint in enumerate(with_token):
            path = work / f"pool-{endpoint.method.lower()}.txt"
            path.write_text("\n".join(tokens[n * pool : (n + 1) * pool]) + "\n", encoding="ascii")
            files.append(path)
    return int(made["pet_ids"][0]), files


def counts_make(
    helpers: ModuleType,
    args: argparse.Namespace,
    env: dict[str, str],
    work: Path,
    pet_id: int,
    pool: Path | None,
) -> list[dict[str, Any]]:
    """Queries, round trips, cache calls and CPU of one call of each endpoint, in-process."""
    command = [str(BENCH_DIR / "roundtrips.py"), "--pet-id", str(pet_id)]
    command += ["--requests", str(args.counts)]
    if pool is not None:
        command += ["--tokens-file", str(pool)]
    return list(subprocess_json(helpers, command, env, work))


def profile_make(
    helpers: ModuleType, args: argparse.Namespace, env: dict[str, str], work: Path, pet_id: int
) -> str:
    """The in-process profile (``measure.profile``) of the mode, in a process of its own."""
    command = [str(Path(__file__).resolve()), "--profile-here", str(args.profile)]
    command += ["--pet-id", str(pet_id)]
    return str(subprocess_json(helpers, command, env, work))


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


def score(results: Sequence[Result]) -> float:
    """How close a server setting comes to the targets (higher is better)."""
    return sum(r.rps / r.endpoint.target_rps for r in results if r.endpoint.target_rps)


# --- Run -------------------------------------------------------------------------------------


@dataclass
class Mode:
    """One mode's data: its environment (database, cache), folder, a pet and token pools."""

    label: str
    env: dict[str, str]
    work: Path
    pet_id: int
    database: str | None  # the PostgreSQL database of the run (scale-out)
    pools: dict[str, Path] = field(default_factory=dict)  # endpoint name -> its token pool


def variants_of(args: argparse.Namespace) -> list[Variant]:
    """The shortcuts, then the variants the switches ask for."""
    variants = [SHORTCUTS]
    if args.fresh_token:
        variants.append(Variant("fresh token", fresh_token=True))
    if args.orm:
        variants.append(Variant("ORM", orm=True))
    if args.fresh_token and args.orm:
        variants.append(Variant("ORM, fresh token", fresh_token=True, orm=True))
    return variants


def run_server(
    helpers: ModuleType,
    args: argparse.Namespace,
    mode: Mode,
    variant: Variant,
    threads: int,
    use_cli: bool,
) -> tuple[list[Result], dict[str, Any]]:
    """Load each endpoint on ``pawfile web`` with ``threads``; also return its responses.
    The variants load only the endpoints that send a token (``/health`` has no shortcut)."""
    port = helpers.free_port()
    command = [*pinned(args.pin, "server"), *helpers.real_server_command(port, threads, use_cli)]
    name = "pawfile web" if use_cli else "granian"
    print(f"[{mode.label}, {variant.name}] {name} --threads {threads} on port {port}", flush=True)
    slug = f"{variant.name.replace(' ', '-').replace(',', '')}-t{threads}"
    log = mode.work / f"pawfile-{slug}.log"
    recorded: dict[str, object] = {}
    targets = []
    with helpers.server(command, {**mode.env, **variant.env()}, mode.work, log):
        helpers.wait_ready(port, "/health", log)
        token = login(helpers, port)
        for n, endpoint in enumerate(ENDPOINTS):
            if variant != SHORTCUTS and not endpoint.token:
                continue
            path = endpoint.path.format(pet_id=mode.pet_id)
            sent = token if endpoint.token else ""
            # The bare app answers by path alone; its query string is ignored.
            recorded[path.split("?", 1)[0]] = record(helpers, port, endpoint, path, sent)
            pool = mode.pools.get(endpoint.name) if variant.fresh_token else None
            script = mode.work / f"{slug}-{n}.lua"
            lua = lua_script(endpoint, sent, RECORD_BODY, pool, args.threads)
            script.write_text(lua, encoding="utf-8")
            targets.append((endpoint, path, script))
        labels = (mode.label, variant.name, "pawfile", threads)
        results = measure(helpers, args, port, labels, targets, mode.database)
    return results, {"recorded": recorded, "targets": targets}


def run_bare(
    helpers: ModuleType, args: argparse.Namespace, mode: Mode, threads: int, replay: dict[str, Any]
) -> list[Result]:
    app_dir = mode.work / "bare"
    app_dir.mkdir(exist_ok=True)
    shutil.copy(BENCH_DIR / "bare.py", app_dir / "bare.py")
    responses = mode.work / "responses.json"
    responses.write_text(json.dumps(replay["recorded"]), encoding="utf-8")
    bare_env = {
        **mode.env, "PAWFILE_BENCH_RESPONSES": str(responses), "PYTHONPATH": str(app_dir)
    }  # fmt: skip
    port = helpers.free_port()
    print(f"[bare] granian --threads {threads} on port {port}", flush=True)
    bare = helpers.granian_command("bare:application", port, threads)
    command = [*pinned(args.pin, "server"), *bare]
    with helpers.server(command, bare_env, mode.work, mode.work / "bare.log"):
        first = next(iter(replay["recorded"]))
        helpers.wait_ready(port, first, mode.work / "bare.log")
        labels = ("-", "-", "bare", threads)
        return measure(helpers, args, port, labels, replay["targets"])


@dataclass
class Outcome:
    results: list[Result] = field(default_factory=list)
    counts: list[dict[str, Any]] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)  # mode -> request threads kept
    reports: list[str] = field(default_factory=list)


def mode_run(
    helpers: ModuleType,
    args: argparse.Namespace,
    mode: Mode,
    variants: Sequence[Variant],
    use_cli: bool,
    outcome: Outcome,
    with_bare: bool,
) -> None:
    """Every run of one mode (then of the bare app when ``with_bare``), into ``outcome``."""
    results: list[Result] = []
    best: tuple[float, int, dict[str, Any]] | None = None
    if not args.profile_only:
        for threads in args.server_threads:
            found, replay = run_server(helpers, args, mode, SHORTCUTS, threads, use_cli)
            results += found
            if best is None or score(found) > best[0]:
                best = (score(found), threads, replay)
        assert best is not None
        outcome.kept[mode.label] = best[1]
        for variant in variants[1:]:
            results += run_server(helpers, args, mode, variant, best[1], use_cli)[0]
    if args.counts:
        names = {e.name for e in ENDPOINTS if e.token}
        for variant in variants:
            print(f"[{mode.label}, {variant.name}] counting {args.counts} calls...", flush=True)
            pool = next(iter(mode.pools.values())) if variant.fresh_token else None
            env = {**mode.env, **variant.env()}
            for found in counts_make(helpers, args, env, mode.work, mode.pet_id, pool):
                if variant == SHORTCUTS or found["endpoint"] in names:  # /health: no variant
                    outcome.counts.append({"mode": mode.label, "variant": variant.name, **found})
    per_call = {(c["mode"], c["variant"], c["endpoint"]): c for c in outcome.counts}
    for r in results:
        if (c := per_call.get((r.mode, r.variant, r.endpoint.name))) is not None:
            r.queries, r.cache_calls = c["queries"], c["cache_calls"]
    outcome.results += results
    if with_bare and best is not None:
        outcome.results += run_bare(helpers, args, mode, best[1], best[2])
    if args.profile:
        report = profile_make(helpers, args, mode.env, mode.work, mode.pet_id)
        outcome.reports.append(f"{mode.label}:\n{report}")


def run(args: argparse.Namespace) -> Outcome:
    helpers = http_helpers()
    variants = variants_of(args)
    outcome = Outcome()
    use_cli: bool | None = None
    cwd = Path.cwd()
    for n, label in enumerate(MODES[args.mode]):
        work = Path(tempfile.mkdtemp(prefix="pawfile-bench-api-"))
        services = mode_services(label, args.postgres, args.redis)
        try:
            with services as service_env:
                data_dir = work / "data"
                data_dir.mkdir()
                env = {**helpers.bench_env(data_dir), **API_ENV, **service_env}
                database = env["DATABASE_URL"].rsplit("/", 1)[1] if service_env else None
                print(f"[{label}] migrating a fresh database...", flush=True)
                helpers.migrate(env, work)
                pool = args.tokens if any(v.fresh_token for v in variants) else 0
                extra = f" and {pool} tokens per endpoint" if pool else ""
                print(f"[{label}] making a user with {PETS} pets{extra}...", flush=True)
                pet_id, pools = data_make(helpers, env, work, pool)
                names = [e.name for e in ENDPOINTS if e.token][: len(pools)]
                by_endpoint = dict(zip(names, pools, strict=True))
                mode = Mode(label, env, work, pet_id, database, by_endpoint)
                if use_cli is None:
                    use_cli = not args.granian and helpers.pawfile_web_available(env)
                mode_run(helpers, args, mode, variants, use_cli, outcome, with_bare=n == 0)
        finally:
            os.chdir(cwd)
            shutil.rmtree(work, ignore_errors=True)
    return outcome


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so the servers and the temporary folder are cleaned up


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--mode", choices=sorted(MODES), default="embedded", help="which mode (embedded)")
    add("--fresh-token", action="store_true", help="also: every request a token of its own")
    add("--orm", action="store_true", help="also: the ORM instead of the hand-written SQL")
    add("--tokens", type=int, default=POOL, help=f"token pool per endpoint ({POOL:,})")
    add("--counts", type=int, default=200, metavar="N", help="calls counted in-process (200)")
    add("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server (scale-out)")
    add("--redis", default=DEFAULT_REDIS, help="Redis server (scale-out)")
    add("--duration", type=float, default=10, help="seconds per run (10)")
    add("--warmup", type=float, default=2, help="unmeasured seconds first (2)")
    add("--threads", type=int, default=2, help="wrk threads (2)")
    add("--connections", type=int, default=16, help="wrk connections (16)")
    add(
        "--server-threads", type=int, action="append",
        help="request threads of the one worker (repeatable; default 1, 2 and 4, the best kept)",
    )  # fmt: skip
    add("--granian", action="store_true", help="start granian directly, not `pawfile web`")
    add("--profile", type=int, default=0, metavar="N", help="also profile N requests in-process")
    add("--profile-only", action="store_true", help="skip the HTTP load")
    add(
        "--pin", action=argparse.BooleanOptionalAction, default=True,
        help="keep the server and wrk on CPUs of their own (default on; --no-pin to share)",
    )  # fmt: skip
    add("--profile-here", type=int, default=0, help=argparse.SUPPRESS)  # the subprocess
    add("--pet-id", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def report(args: argparse.Namespace, outcome: Outcome, before: str) -> None:
    print()
    print(f"load before: {before}")
    print(f"load after:  {load_line()}")
    if outcome.results:
        kept = ", ".join(f"{mode} {threads}" for mode, threads in outcome.kept.items())
        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency; "
            f"one worker, request threads {'/'.join(map(str, args.server_threads))} "
            f"(kept: {kept}; each mode's variants ran with its own, the bare app with the "
            "first's); "
            f"{os.cpu_count()} CPUs, {placement(args.pin)}; CPU columns in cores; "
            "the warm PDF report is measured by bench/report.py"
        )
        print(table(outcome.results))
        if lines := comparison(outcome.results):
            print()
            print(lines)
    if outcome.counts:
        print()
        print(f"Per call, counted in-process over {args.counts} calls (bench/roundtrips.py):")
        print(counts_table(outcome.counts))
    for text in outcome.reports:
        print()
        print(text)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments().parse_args(argv)
    if args.profile_here:  # in a subprocess with the mode's environment
        login = {"email": EMAIL, "password": PASSWORD}
        endpoints = [e for e in ENDPOINTS if e.token]
        found = profile(
            dict(os.environ), Path.cwd(), args.pet_id, args.profile_here, endpoints, login,
            RECORD_BODY,
        )  # fmt: skip
        print(json.dumps(found))
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
        outcome = run(args)
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temporary files removed", file=sys.stderr)
        return 130
    except (ServiceError, Exception) as exc:  # a failed step: say which (cleaned up above)
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    report(args, outcome, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
