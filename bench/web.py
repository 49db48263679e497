"""HTTP benchmark: Pawfile's real server against a bare WSGI app on the same granian settings.

    .venv/bin/python bench/web.py [--duration 10] [--threads 2] [--connections 16]
                                   [--endpoint /health --endpoint /] [--server-threads 8]
                                   [--pet-page] [--public-page]
                                   [--mode embedded|scaleout|both]

Steps: migrate a fresh data directory in a temporary folder; start ``pawfile web`` (granian
directly when the command is not available) on a free 127.0.0.1 port; fetch each endpoint
once; load each with ``wrk --latency``; stop it; start ``bench/bare.py`` replaying the
recorded bytes and headers on the same granian settings; load it the same way; print
``endpoint | server | req/s | p50 ms | p99 ms | ratio to bare``.

Everything listens on 127.0.0.1 only. Every step has a time limit, and the servers (whole
process groups) and the temporary folder are removed on exit, including on Ctrl-C.
``DATABASE_URL`` and ``REDIS_URL`` are dropped from the environment so a benchmark never
migrates or loads a real database. ``--mode`` picks what is measured: ``embedded`` (the
default: SQLite, in-memory cache), ``scaleout`` (a PostgreSQL database and Redis prefix of the
bench's own, ``bench/scaleout.py``; ``--postgres``/``--redis`` name the servers) or ``both``,
one table per mode.

``--public-page`` adds a lost pet's public page ``/p/{slug}`` (anonymous; its data made by
``--seed-public-page`` in a subprocess): the row ``pawfile`` is the cached body (every request
after the first is a cache hit), and a second run of the real server with
``PAWFILE_PUBLIC_PAGE_CACHE=off`` gives the row ``uncached`` (the page rendered every time).
Targets: ≥ 3,000 req/s per server core cached, ≥ 800 uncached. The last column,
``req/CPU-s``, is the requests answered per second of processor time the server's processes
used during the run: a per-core rate that other work on a shared machine changes far less
than req/s.

``--pet-page`` adds the signed-in pet page: a household with a well-filled pet and a session
of its owner are made first (``bench/petpage.py --seed``), and its row is loaded with the
owner's session cookie (``bench/petpage.py`` measures it in both modes, per server core).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from scaleout import (  # noqa: E402 - after the path fix
    DEFAULT_POSTGRES,
    DEFAULT_REDIS,
    ServiceError,
    mode_services,
)

HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

# Added by the HTTP server, not the application: replaying them would duplicate them.
SERVER_HEADERS = {"date", "server", "connection", "keep-alive", "transfer-encoding"}
# Request headers of a path (the pet page's session cookie), set by ``--pet-page``.
REQUEST_HEADERS: dict[str, dict[str, str]] = {}

WRK_MISSING = """wrk is not installed. Install it with:
    sudo apt-get install -y wrk        (Debian, Ubuntu)
    brew install wrk                   (macOS)
or build it from https://github.com/wg/wrk"""


class BenchError(RuntimeError):
    """A step failed; the message says which."""


@dataclass
class Result:
    endpoint: str
    server: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str
    per_cpu: float = 0.0  # requests per second of processor time the server used (0: unknown)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def bench_env(data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL"} and not key.startswith("GRANIAN_")
    }
    # A settings module from the environment is honoured, to compare variants of the stack.
    env.setdefault("DJANGO_SETTINGS_MODULE", "pawfile.config.settings")
    env.update(
        PAWFILE_DATA_DIR=str(data_dir),
        PAWFILE_ENV="development",
        PAWFILE_DEBUG="false",
        PAWFILE_LOG_LEVEL="WARNING",
        PAWFILE_BASE_URL="",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def venv_bin(name: str) -> Path:
    return Path(sys.executable).parent / name


def pawfile_web_available(env: dict[str, str]) -> bool:
    """Is there a ``pawfile`` command whose ``web`` subcommand starts?"""
    command = venv_bin("pawfile")
    if not command.exists():
        return False
    probe = subprocess.run(
        [str(command), "web", "--help"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return probe.returncode == 0 and b"--bind" in probe.stdout


def real_server_command(port: int, threads: int, use_cli: bool) -> list[str]:
    if use_cli:
        return [
            str(venv_bin("pawfile")),
            "web",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            "1",
            "--threads",
            str(threads),
        ]
    return granian_command("pawfile.config.wsgi:application", port, threads)


def granian_command(target: str, port: int, threads: int) -> list[str]:
    return [
        str(venv_bin("granian")),
        "--interface",
        "wsgi",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--blocking-threads",
        str(threads),
        "--log-level",
        "warning",
        target,
    ]


@contextlib.contextmanager
def server(
    command: list[str], env: dict[str, str], cwd: Path, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` in its own process group (its id is the process's); the whole group is
    stopped on exit."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop(process)


def group_cpu_seconds(group: int) -> float:
    """Processor seconds (user + system) used so far by the processes of ``group`` (Linux
    ``/proc``; 0 elsewhere). Requests per processor second is a per-core rate that other
    work on a shared machine does not change much, unlike requests per second."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group:  # fields after the name: state, ppid, pgrp, ...
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.0


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def fetch(port: int, path: str, timeout: float = 10.0) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    conn.request("GET", path, headers={"Host": f"{HOST}:{port}", **REQUEST_HEADERS.get(path, {})})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def record(port: int, path: str) -> dict[str, object]:
    """One response from the real server, in the shape ``bench/bare.py`` replays."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.request("GET", path, headers={"Host": f"{HOST}:{port}", **REQUEST_HEADERS.get(path, {})})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    headers = [[k, v] for k, v in response.getheaders() if k.lower() not in SERVER_HEADERS]
    return {
        "status": f"{response.status} {response.reason}",
        "headers": headers,
        "body": base64.b64encode(body).decode("ascii"),
    }


def wait_ready(port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if fetch(port, path, timeout=2).status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:]
    raise BenchError(f"the server on port {port} did not answer {path} in time:\n{tail}")


LATENCY_RE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
RPS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
NON_2XX_RE = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
SOCKET_RE = re.compile(r"Socket errors:\s+(.*)")
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> tuple[float, float, float, str]:
    """``(req/s, p50 ms, p99 ms, errors)`` from ``wrk --latency`` output."""
    rps = RPS_RE.search(output)
    latencies = {
        pct: float(value) * UNITS_MS[unit] for pct, value, unit in LATENCY_RE.findall(output)
    }
    if not rps or {"50", "99"} - set(latencies):
        raise BenchError(f"could not read wrk's output:\n{output}")
    errors = []
    if match := NON_2XX_RE.search(output):
        errors.append(f"{match.group(1)} non-2xx/3xx")
    if match := SOCKET_RE.search(output):
        errors.append("socket errors: " + match.group(1))
    return float(rps.group(1)), latencies["50"], latencies["99"], "; ".join(errors)


def run_wrk(args: argparse.Namespace, port: int, path: str, duration: float) -> str:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration:g}s",
        "--timeout",
        "5s",
        "--latency",
        *[f"-H{name}: {value}" for name, value in REQUEST_HEADERS.get(path, {}).items()],
        f"http://{HOST}:{port}{path}",
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


def measure(
    args: argparse.Namespace, port: int, name: str, group: int | None = None
) -> list[Result]:
    """Load each endpoint; with ``group`` (the server's process group) also the requests per
    processor second the server used."""
    results = []
    for path in args.endpoint:
        if args.warmup > 0:
            run_wrk(args, port, path, args.warmup)
        cpu = group_cpu_seconds(group) if group else 0.0
        output = run_wrk(args, port, path, args.duration)
        used = group_cpu_seconds(group) - cpu if group else 0.0
        rps, p50, p99, errors = parse_wrk(output)
        per_cpu = rps * args.duration / used if used > 0 else 0.0
        results.append(Result(path, name, rps, p50, p99, errors, per_cpu))
        print(
            f"  {name:<7} {path:<10} {rps:>10.0f} req/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms"
            f"  {per_cpu:.0f} req per CPU second"
        )
    return results


def table(results: Sequence[Result]) -> str:
    bare = {r.endpoint: r.rps for r in results if r.server == "bare"}
    header = ("endpoint", "server", "req/s", "p50 ms", "p99 ms", "ratio to bare", "req/CPU-s")
    rows = [header]
    for r in results:
        ratio = f"{r.rps / bare[r.endpoint]:.2f}" if bare.get(r.endpoint) else "-"
        per_cpu = f"{r.per_cpu:.0f}" if r.per_cpu else "-"
        rows.append(
            (
                r.endpoint, r.server, f"{r.rps:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}",
                ratio, per_cpu,
            )
        )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    notes = [f"{r.server} {r.endpoint}: {r.errors}" for r in results if r.errors]
    return "\n".join([*lines, "", *notes] if notes else lines)


def migrate(env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"migrations failed:\n{done.stderr[-3000:]}")


def pet_page_seed(env: dict[str, str], cwd: Path) -> str:
    """Make the pet page's data (``bench/petpage.py --seed``); its path, with the owner's
    session cookie in ``REQUEST_HEADERS``."""
    done = subprocess.run(
        [sys.executable, str(BENCH_DIR / "petpage.py"), "--seed"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"making the pet page's data failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    path = f"/pets/{data['pet_id']}/"
    cookie = f"{data['session_cookie']}={data['session_key']}"
    REQUEST_HEADERS[path] = {"Cookie": cookie, "Accept-Language": "en"}
    return path


def public_page_seed(env: dict[str, str], cwd: Path) -> str:
    """Make a lost pet with everything public (``--seed-public-page``); its page's path."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--seed-public-page"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"making the public page's data failed:\n{done.stderr[-3000:]}")
    path = str(json.loads(done.stdout.strip().splitlines()[-1])["path"])
    REQUEST_HEADERS[path] = {"Accept-Language": "en"}
    return path


def public_page_data() -> dict[str, str]:
    """In the seeding subprocess: a household, a pet with a photo, records and a public
    contact, every switch on, lost. ``{"path": "/p/<slug>"}``."""
    import io

    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone
    from PIL import Image

    from pawfile.accounts.models import Household
    from pawfile.accounts.services import user_create
    from pawfile.health.services import record_create
    from pawfile.lostpet import services as lostpet
    from pawfile.pets import photos
    from pawfile.pets.services import contact_create, pet_create

    user = user_create(email="public-bench@example.org", password="bench-pass-Pawfile-2")  # noqa: S106
    household = Household.objects.get(memberships__user=user)
    today = timezone.localdate()
    pet = pet_create(
        actor=user, household=household, name="Luna", species="dog", breed="Border Collie",
        sex="female", birth_date=today.replace(year=today.year - 4), allergies="Chicken",
        special_needs="Deaf in one ear",
    )  # fmt: skip
    out = io.BytesIO()
    Image.new("RGB", (640, 640), (40, 120, 110)).save(out, "JPEG")
    upload = SimpleUploadedFile("luna.jpg", out.getvalue(), content_type="image/jpeg")
    photos.photo_add(actor=user, pet=pet, upload=upload)
    record_create(actor=user, pet=pet, kind="medication", name="Apoquel", date=today, dose="16 mg")
    record_create(actor=user, pet=pet, kind="allergy", name="Penicillin", date=today)
    contact_create(
        actor=user, household=household, pet_ids=[pet.pk], name="Alex", phone="+34 600 111 222",
        whatsapp=True, email="alex@example.org", show_on_public_page=True,
    )  # fmt: skip
    lostpet.profile_update(
        actor=user, pet=pet, **{name: True for name in lostpet.VISIBILITY_FIELDS},
        contact_mode="shown", public_message="Friendly, give her water.",
    )  # fmt: skip
    profile = lostpet.lost_mark(
        actor=user, pet=pet, last_seen_place="Retiro park", reward="200 EUR",
        last_seen_at=timezone.now(),
    )  # fmt: skip
    return {"path": f"/p/{profile.slug}"}


def run(args: argparse.Namespace, extra: dict[str, str] | None = None) -> list[Result]:
    """One mode's runs; ``extra``: the environment the mode adds (``mode_services``)."""
    work = Path(tempfile.mkdtemp(prefix="pawfile-bench-"))
    try:
        data_dir = work / "data"
        data_dir.mkdir()
        env = {**bench_env(data_dir), **(extra or {})}
        print("Migrating a fresh data directory...", flush=True)
        migrate(env, work)
        if args.pet_page:
            args.endpoint = [*args.endpoint, pet_page_seed(env, work)]
        public_path = public_page_seed(env, work) if args.public_page else ""
        if public_path:
            args.endpoint = [*args.endpoint, public_path]
        use_cli = not args.granian and pawfile_web_available(env)
        results: list[Result] = []

        port = free_port()
        command = real_server_command(port, args.server_threads, use_cli)
        print(f"Starting {'pawfile web' if use_cli else 'granian'} on {HOST}:{port}", flush=True)
        recorded: dict[str, object] = {}
        with server(command, env, work, work / "pawfile.log") as process:
            wait_ready(port, "/health", work / "pawfile.log")
            for path in args.endpoint:
                recorded[path] = record(port, path)
            results += measure(args, port, "pawfile", process.pid)

        if public_path:  # the same page with its cache switched off: rendered every time
            port = free_port()
            command = real_server_command(port, args.server_threads, use_cli)
            uncached_env = {**env, "PAWFILE_PUBLIC_PAGE_CACHE": "off"}
            with server(command, uncached_env, work, work / "uncached.log") as process:
                wait_ready(port, "/health", work / "uncached.log")
                endpoints, args.endpoint = args.endpoint, [public_path]
                try:
                    results += measure(args, port, "uncached", process.pid)
                finally:
                    args.endpoint = endpoints

        # The bare app gets a folder of its own on PYTHONPATH, with nothing else in it.
        app_dir = work / "bare"
        app_dir.mkdir()
        shutil.copy(BENCH_DIR / "bare.py", app_dir / "bare.py")
        responses = work / "responses.json"
        responses.write_text(json.dumps(recorded), encoding="utf-8")
        bare_env = {**env, "PAWFILE_BENCH_RESPONSES": str(responses), "PYTHONPATH": str(app_dir)}
        port = free_port()
        print(f"Starting the bare app on {HOST}:{port}", flush=True)
        command = granian_command("bare:application", port, args.server_threads)
        with server(command, bare_env, work, work / "bare.log") as process:
            wait_ready(port, args.endpoint[0], work / "bare.log")
            results += measure(args, port, "bare", process.pid)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _terminate(signum: int, frame: object) -> None:
    # Turn SIGTERM into an exception so the servers and the temporary folder are cleaned up.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoint",
        action="append",
        help="path to load (repeatable; default /health and /)",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per run (10)")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds first (2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument(
        "--server-threads", type=int, default=8, help="granian blocking threads (8)"
    )
    parser.add_argument(
        "--granian", action="store_true", help="start granian directly, not `pawfile web`"
    )
    parser.add_argument(
        "--pet-page", action="store_true", help="also the signed-in pet page (its own data)"
    )
    parser.add_argument(
        "--public-page",
        action="store_true",
        help="also a lost pet's public page /p/{slug}, cached and uncached (its own data)",
    )
    parser.add_argument(
        "--mode",
        choices=("embedded", "scaleout", "both"),
        default="embedded",
        help="embedded (SQLite), scaleout (PostgreSQL + Redis of the bench's own) or both",
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="scale-out's PostgreSQL")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="scale-out's Redis")
    parser.add_argument("--seed-public-page", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed_public_page:  # the subprocess that makes the public page's data
        print(json.dumps(public_page_data()))
        return 0
    args.endpoint = args.endpoint or ["/health", "/"]
    if not shutil.which("wrk"):
        print(WRK_MISSING, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    modes = ["embedded", "scale-out"] if args.mode == "both" else [args.mode.replace("out", "-out")]
    endpoints = list(args.endpoint)
    tables: list[str] = []
    try:
        for mode in modes:
            print(f"[{mode}]", flush=True)
            args.endpoint = list(endpoints)  # a run adds its seeded pages
            with mode_services(mode, args.postgres, args.redis) as extra:
                tables.append(f"{mode}:\n{table(run(args, extra))}")
    except (BenchError, ServiceError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temporary files removed", file=sys.stderr)
        return 130
    print()
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency; "
        f"granian --workers 1 --blocking-threads {args.server_threads}; {os.cpu_count()} CPUs"
    )
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
