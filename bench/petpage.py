"""Pet page benchmark: the signed-in pet page in both modes, against its speed target.

    .venv/bin/python bench/petpage.py [--mode embedded|scaleout|both] [--duration 10]
                                      [--server-threads 2 --server-threads 4] [--connections 16]

Target: the pet page at ≥ 400 req/s per server core with p95 ≤ 50 ms at 16 connections, in
both modes. Also ``bench/web.py --pet-page`` (embedded only, next to ``/health`` and ``/``).

Steps, for each mode: migrate a fresh data directory in a temporary folder (embedded: SQLite
and the in-process cache; scale-out: a PostgreSQL database and a Redis prefix of the bench's
own, ``bench/scaleout.py``); make a household with a pet as a person fills it in (two photos,
vaccinations overdue, due soon and up to date, medication, an allergy, eight weights, three
notes, two contacts) and a signed-in session of its owner (``--seed``, in a subprocess with
the mode's environment); for each ``--server-threads`` value start ``pawfile web --workers 1
--threads N`` on a free 127.0.0.1 port, fetch the page once (a 200 with the pet's name, and
the CSRF cookie a browser would send back) and load it and ``/health`` with ``wrk --latency``
(``bench/wrkload.py``: p95 and the server's CPU from ``/proc``). Last, load ``bench/bare.py``
replaying the recorded bytes on granian. Prints the runs (``bench/apitable.py``): req/s,
p50/p95/p99, the ratio to the bare app and req/s per server core, with the verdict.

The page's cards are cached by the pet's revision (``pawfile.pets.dashboard``): every request
after the first is a cache hit; the access check, the session and the page's shell run on
every request. Everything listens on 127.0.0.1; the servers, the temporary folder, the bench
database and its Redis keys are removed on exit, including on Ctrl-C.
"""

# ruff: noqa: E402 - the standard library is imported after the sys.path fix below

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
for folder in (str(REPO_DIR), str(BENCH_DIR)):
    if folder not in sys.path:
        sys.path.insert(0, folder)

import argparse
import base64
import datetime as dt
import http.client
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Sequence
from http.cookies import SimpleCookie
from types import ModuleType
from typing import Any

from apitable import table
from measure import load_line, pinned, placement
from scaleout import DEFAULT_POSTGRES, DEFAULT_REDIS, ServiceError, mode_services
from wrkload import Endpoint, Result, measure

MODES = {"embedded": ("embedded",), "scaleout": ("scale-out",), "both": ("embedded", "scale-out")}
PET_PAGE = Endpoint("pet page", "GET", "/pets/{pet_id}/", 200, 400, 50, token=False)
HEALTH = Endpoint("/health", "GET", "/health", 200, None, None, token=False)
EMAIL = "petpage-bench@example.org"


def http_helpers() -> ModuleType:
    """``bench/web.py`` (server start/stop, environment, migrations), loaded by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("pawfile_bench_web", BENCH_DIR / "web.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# --- Data (in a subprocess with the mode's environment) -------------------------------------


def _jpeg(colour: tuple[int, int, int]) -> Any:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 640), colour).save(out, "JPEG")
    return SimpleUploadedFile("photo.jpg", out.getvalue(), content_type="image/jpeg")


def seed() -> dict[str, Any]:
    """A household with one well-filled pet and a session of its owner:
    ``{"pet_id", "session_cookie", "session_key"}``."""
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils import timezone

    from pawfile.accounts.models import Household
    from pawfile.accounts.services import user_create
    from pawfile.health.services import record_create, weight_record
    from pawfile.pets import photos
    from pawfile.pets.services import contact_create, note_create, pet_create

    user = user_create(email=EMAIL, password="bench-pass-Pawfile-1", name="Bench Owner")  # noqa: S106
    EmailAddress.objects.create(user=user, email=EMAIL, primary=True, verified=True)
    household = Household.objects.get(memberships__user=user)
    today = timezone.localdate()
    pet = pet_create(
        actor=user, household=household, name="Luna", species="dog", breed="Border Collie",
        sex="female", birth_date=today - dt.timedelta(days=4 * 365), microchip="985112004567890",
        neutered=True, allergies="Chicken", vet_name="Dr. Ana Morales",
        vet_phone="+34 912 345 678",
    )  # fmt: skip
    photos.photo_add(actor=user, pet=pet, upload=_jpeg((40, 120, 110)))
    photos.photo_add(actor=user, pet=pet, upload=_jpeg((200, 110, 40)))
    for name, given, due in (
        ("Rabies", 400, -3), ("Parvovirus", 350, 10), ("Leptospirosis", 100, 265),
    ):  # fmt: skip
        record_create(
            actor=user, pet=pet, kind="vaccination", name=name,
            date=today - dt.timedelta(days=given), next_due=today + dt.timedelta(days=due),
        )  # fmt: skip
    record_create(actor=user, pet=pet, kind="deworming", name="Milbemax", date=today)
    record_create(actor=user, pet=pet, kind="medication", name="Apoquel", date=today, dose="16 mg")
    record_create(actor=user, pet=pet, kind="allergy", name="Chicken", date=today)
    for n in range(8):
        value = f"{19 + n * 0.2:.1f}"
        day = today - dt.timedelta(days=30 * (8 - n))
        weight_record(actor=user, pet=pet, value=value, unit="kg", date=day)
    for n in range(3):
        note_create(actor=user, pet=pet, title=f"Note {n}", body_html=f"<p>Walks, food, {n}</p>")
    for name in ("Marta Rivera", "Clinic"):
        contact_create(actor=user, household=household, pet_ids=[pet.pk], name=name)
    store = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"]).SessionStore
    session = store()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)  # as auth.login does
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return {
        "pet_id": pet.pk,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "session_key": session.session_key,
    }


def data_make(helpers: ModuleType, env: dict[str, str], work: Path) -> dict[str, Any]:
    import subprocess

    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--seed"], env=env, cwd=work,
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise helpers.BenchError(f"seeding failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- HTTP ------------------------------------------------------------------------------------


def fetch(helpers: ModuleType, port: int, path: str, cookie: str) -> tuple[int, Any, bytes]:
    conn = http.client.HTTPConnection(helpers.HOST, port, timeout=30)
    headers = {"Host": f"{helpers.HOST}:{port}", "Accept-Language": "en"}
    if cookie:
        headers["Cookie"] = cookie
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response, response.read()
    finally:
        conn.close()


def browser_cookie(helpers: ModuleType, port: int, path: str, data: dict[str, Any]) -> str:
    """The session cookie and the CSRF cookie the first answer sets, as a browser sends them."""
    cookie = f"{data['session_cookie']}={data['session_key']}"
    status, response, body = fetch(helpers, port, path, cookie)
    if status != 200 or b"Luna" not in body:
        raise helpers.BenchError(f"GET {path} answered {status}: {body[:300]!r}")
    jar = SimpleCookie()
    for value in response.headers.get_all("Set-Cookie") or []:
        jar.load(value)
    extra = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
    return f"{cookie}; {extra}" if extra else cookie


def lua(cookie: str) -> str:
    return "\n".join(
        [
            'wrk.method = "GET"',
            f'wrk.headers["Cookie"] = [==[{cookie}]==]',
            'wrk.headers["Accept-Language"] = "en"',
            "function done(summary, latency, requests)",
            '  io.write(string.format("p95_us %d\\n", latency:percentile(95)))',
            "end",
            "",
        ]
    )


def run_mode(
    helpers: ModuleType, args: argparse.Namespace, label: str, env: dict[str, str], work: Path,
    database: str | None, data: dict[str, Any], use_cli: bool,
) -> tuple[list[Result], dict[str, Any]]:  # fmt: skip
    results: list[Result] = []
    replay: dict[str, Any] = {}
    for threads in args.server_threads:
        port = helpers.free_port()
        command = [
            *pinned(args.pin, "server"),
            *helpers.real_server_command(port, threads, use_cli),
        ]
        print(f"[{label}] pawfile web --threads {threads} on port {port}", flush=True)
        log = work / f"pawfile-t{threads}.log"
        with helpers.server(command, env, work, log):
            helpers.wait_ready(port, "/health", log)
            path = PET_PAGE.path.format(pet_id=data["pet_id"])
            cookie = browser_cookie(helpers, port, path, data)
            targets = []
            recorded: dict[str, object] = {}
            for n, (endpoint, sent) in enumerate(((PET_PAGE, cookie), (HEALTH, ""))):
                target = endpoint.path.format(pet_id=data["pet_id"])
                status, response, body = fetch(helpers, port, target, sent)
                kept = [
                    [k, v] for k, v in response.getheaders()
                    if k.lower() not in helpers.SERVER_HEADERS
                ]  # fmt: skip
                recorded[target] = {
                    "status": f"{status} {response.reason}",
                    "headers": kept,
                    "body": base64.b64encode(body).decode("ascii"),
                }
                script = work / f"{label}-t{threads}-{n}.lua"
                script.write_text(lua(sent), encoding="utf-8")
                targets.append((endpoint, target, script))
            results += measure(
                helpers, args, port, (label, "cached", "pawfile", threads), targets, database
            )
        replay = {"recorded": recorded, "targets": targets}
    return results, replay


def run_bare(
    helpers: ModuleType, args: argparse.Namespace, work: Path, threads: int, replay: dict[str, Any]
) -> list[Result]:
    app_dir = work / "bare"
    app_dir.mkdir(exist_ok=True)
    shutil.copy(BENCH_DIR / "bare.py", app_dir / "bare.py")
    responses = work / "responses.json"
    responses.write_text(json.dumps(replay["recorded"]), encoding="utf-8")
    env = {
        **helpers.bench_env(work / "data"), "PAWFILE_BENCH_RESPONSES": str(responses),
        "PYTHONPATH": str(app_dir),
    }  # fmt: skip
    port = helpers.free_port()
    print(f"[bare] granian --threads {threads} on port {port}", flush=True)
    command = [
        *pinned(args.pin, "server"),
        *helpers.granian_command("bare:application", port, threads),
    ]
    with helpers.server(command, env, work, work / "bare.log"):
        helpers.wait_ready(port, "/health", work / "bare.log")
        return measure(helpers, args, port, ("-", "-", "bare", threads), replay["targets"])


def run(args: argparse.Namespace) -> list[Result]:
    helpers = http_helpers()
    results: list[Result] = []
    use_cli: bool | None = None
    for n, label in enumerate(MODES[args.mode]):
        work = Path(tempfile.mkdtemp(prefix="pawfile-bench-petpage-"))
        services = mode_services(label, args.postgres, args.redis)
        try:
            with services as service_env:
                data_dir = work / "data"
                data_dir.mkdir()
                env = {**helpers.bench_env(data_dir), "PAWFILE_LOG_LEVEL": "WARNING", **service_env}
                database = env["DATABASE_URL"].rsplit("/", 1)[1] if service_env else None
                print(f"[{label}] migrating a fresh database...", flush=True)
                helpers.migrate(env, work)
                print(f"[{label}] making a household with a well-filled pet...", flush=True)
                data = data_make(helpers, env, work)
                if use_cli is None:
                    use_cli = not args.granian and helpers.pawfile_web_available(env)
                found, replay = run_mode(helpers, args, label, env, work, database, data, use_cli)
                results += found
                if n == 0:
                    results += run_bare(helpers, args, work, args.server_threads[0], replay)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return results


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so the servers and the temporary folder are cleaned up


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--mode", choices=sorted(MODES), default="both", help="which mode (both)")
    add("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server (scale-out)")
    add("--redis", default=DEFAULT_REDIS, help="Redis server (scale-out)")
    add("--duration", type=float, default=10, help="seconds per run (10)")
    add("--warmup", type=float, default=2, help="unmeasured seconds first (2)")
    add("--threads", type=int, default=2, help="wrk threads (2)")
    add("--connections", type=int, default=16, help="wrk connections (16)")
    add("--server-threads", type=int, action="append", help="request threads (default 2)")
    add("--granian", action="store_true", help="start granian directly, not `pawfile web`")
    add(
        "--pin", action=argparse.BooleanOptionalAction, default=True,
        help="keep the server and wrk on CPUs of their own (default on)",
    )  # fmt: skip
    add("--seed", action="store_true", help=argparse.SUPPRESS)  # the subprocess
    args = parser.parse_args(argv)
    if args.seed:
        import django

        django.setup()
        print(json.dumps(seed()))
        return 0
    args.server_threads = args.server_threads or [2]
    if not shutil.which("wrk"):
        print(http_helpers().WRK_MISSING, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    before = load_line()
    try:
        results = run(args)
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temporary files removed", file=sys.stderr)
        return 130
    except (ServiceError, Exception) as exc:  # a failed step: say which (cleaned up above)
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print()
    print(f"load before: {before}")
    print(f"load after:  {load_line()}")
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency; one worker, "
        f"request threads {'/'.join(map(str, args.server_threads))}; {os.cpu_count()} CPUs, "
        f"{placement(args.pin)}; CPU columns in cores"
    )
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
