"""Health report benchmark: generating the PDF cold (compiled) and warm (from the cache).

    .venv/bin/python bench/report.py [--cold 20] [--warm 200] [--server-threads 2]

Steps: migrate a fresh data directory in a temporary folder (embedded mode, as
``bench/web.py`` does); make a user with a dog that has a photo and a dozen health records
of every kind; time the report in this process, cold (the pet's revision is bumped before
each run, so every run misses the cache and compiles) and warm (served from the cache);
then start ``pawfile web`` on a free 127.0.0.1 port, sign in with a session cookie and time
``GET /pets/<id>/report.pdf`` over HTTP the same two ways, one request at a time on one
keep-alive connection; last, serve the real server's last answer from ``bench/bare.py`` on
granian with the same settings and time it warm, the floor of the same bytes over HTTP.
Prints ``case | runs | median ms | p95 ms | min ms | max ms``.

Revision bumps and the sign-in happen outside the timed part. Everything listens on
127.0.0.1 only; every step has a time limit, and the server (its whole process group) and
the temporary folder are removed on exit, including on Ctrl-C.
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
import io
import json
import os
import shutil
import signal
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

REQUEST_TIMEOUT = 60.0
TIME_BUDGET = 300.0  # seconds for all timed loops together; a loop stops early past it


def http_helpers() -> ModuleType:
    """``bench/web.py`` (server start/stop, environment, migrations), loaded by path."""
    spec = importlib.util.spec_from_file_location("pawfile_bench_web", BENCH_DIR / "web.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass
class Timing:
    case: str
    runs: list[float]  # milliseconds

    def row(self) -> tuple[str, ...]:
        ordered = sorted(self.runs)
        p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
        return (
            self.case,
            str(len(ordered)),
            f"{statistics.median(ordered):.1f}",
            f"{p95:.1f}",
            f"{ordered[0]:.1f}",
            f"{ordered[-1]:.1f}",
        )


def timed(
    case: str, runs: int, action: Callable[[], Any], before: Callable[[], Any] | None = None
) -> Timing:
    """Run ``action`` ``runs`` times (``before`` each, untimed); stop early past the budget."""
    deadline = time.monotonic() + TIME_BUDGET
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
        if time.monotonic() > deadline:
            break
    return Timing(case, samples)


def table(rows: Sequence[Timing]) -> str:
    header = ("case", "runs", "median ms", "p95 ms", "min ms", "max ms")
    cells = [header, *(r.row() for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        parts = [v.ljust(widths[i]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(row)]
        lines.append("| " + " | ".join(parts) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# --- Data ------------------------------------------------------------------------------------


def make_pet() -> tuple[Any, Any]:
    """A user and a dog with a photo, a contact and a dozen records of every kind."""
    from django.utils import timezone
    from PIL import Image

    from pawfile.accounts.models import Household
    from pawfile.accounts.services import user_create
    from pawfile.health.services import record_create, weight_record
    from pawfile.pets.photos import photo_add
    from pawfile.pets.services import contact_create, pet_create

    user = user_create(email="bench@example.org", password=None, name="Bench Owner")
    household = Household.objects.get(memberships__user=user)
    today = timezone.localdate()
    pet = pet_create(
        actor=user, household=household, name="Rex", species="dog", breed="Beagle", sex="male",
        birth_date=today - dt.timedelta(days=1200), microchip="941000024680135",
        allergies="Chicken protein", vet_name="Dr. Pérez", vet_clinic="Clínica Sol",
        vet_phone="+34 911 000 111",
    )  # fmt: skip
    contact_create(
        actor=user, household=household, pet_ids=[pet.pk], name="Nina", phone="+34 600 111 222"
    )
    picture = Image.new("RGB", (900, 700), (30, 110, 160))
    picture.paste((220, 120, 40), (300, 200, 600, 500))
    upload = io.BytesIO()
    picture.save(upload, "JPEG", quality=90)
    upload.seek(0)
    photo_add(actor=user, pet=pet, upload=upload)

    def ago(days: int) -> dt.date:
        return today - dt.timedelta(days=days)

    records: list[dict[str, Any]] = [
        {"kind": "vaccination", "name": "Rabies", "date": ago(100), "next_due": ago(-265)},
        {"kind": "vaccination", "name": "DHPP", "date": ago(400), "next_due": ago(35)},
        {"kind": "vaccination", "name": "Leptospirosis", "date": ago(340), "next_due": ago(-20)},
        {"kind": "deworming", "name": "Milbemax", "date": ago(80), "next_due": ago(-10)},
        {"kind": "medication", "name": "Apoquel", "dose": "16 mg", "date": ago(20)},
        {"kind": "allergy", "name": "Pollen", "severity": "mild"},
        {"kind": "visit", "name": "Annual check-up", "date": ago(300), "diagnosis": "Healthy"},
        {"kind": "visit", "name": "Itchy skin", "date": ago(30), "diagnosis": "Atopy"},
    ]
    for fields in records:
        record_create(actor=user, pet=pet, **fields)
    for days, kilos in ((360, "11.2"), (270, "11.6"), (200, "11.9"), (90, "12.3"), (5, "12.5")):
        weight_record(actor=user, pet=pet, value=kilos, unit="kg", date=ago(days))
    return user, pet


def session_cookie(user: Any) -> str:
    """``name=value`` of a signed-in session for ``user`` (stored in the shared database)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


# --- Measurements ----------------------------------------------------------------------------


def in_process(user: Any, pet: Any, args: argparse.Namespace) -> list[Timing]:
    from pawfile.documents.report import report_get, report_render
    from pawfile.documents.report_data import owner_members, report_data
    from pawfile.pets.services import pet_revision_bump

    def bump() -> None:
        pet_revision_bump(pet.pk)

    def get() -> None:
        assert report_get(user=user, pet_id=pet.pk, lang="en").pdf.startswith(b"%PDF-")

    get()  # the first call of a process also reads the fonts and the template
    from django.utils import timezone

    today = timezone.localdate()
    content = report_data(
        user=user, pet=pet, lang="en", today=today, members=owner_members(user=user, pet=pet)
    )
    return [
        timed("in-process cold (data + compile)", args.cold, get, before=bump),
        timed("in-process compile only", args.cold, lambda: report_render(content, today=today)),
        timed("in-process warm (cache)", args.warm, get),
    ]


class Downloader:
    """GETs ``path`` over one keep-alive connection and checks that a PDF came back; keeps
    the last response in the shape ``bench/bare.py`` replays."""

    def __init__(self, helpers: ModuleType, port: int, path: str, headers: dict[str, str]):
        self.helpers, self.path = helpers, path
        self.headers = {"Host": f"{helpers.HOST}:{port}", **headers}
        self.conn = http.client.HTTPConnection(helpers.HOST, port, timeout=REQUEST_TIMEOUT)
        self.recorded: dict[str, object] = {}
        self.size = 0

    def __call__(self) -> None:
        self.conn.request("GET", self.path, headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200 or not body.startswith(b"%PDF-"):
            raise self.helpers.BenchError(
                f"GET {self.path} answered {response.status}: {body[:200]!r}"
            )
        self.size = len(body)
        kept = [
            [k, v] for k, v in response.getheaders() if k.lower() not in self.helpers.SERVER_HEADERS
        ]
        self.recorded = {
            "status": f"{response.status} {response.reason}",
            "headers": kept,
            "body": base64.b64encode(body).decode("ascii"),
        }

    def close(self) -> None:
        self.conn.close()


def over_http(
    helpers: ModuleType,
    work: Path,
    env: dict[str, str],
    pet: Any,
    cookie: str,
    args: argparse.Namespace,
) -> tuple[list[Timing], int]:
    """Cold and warm downloads from ``pawfile web``, then the same bytes from the bare app
    on granian with the same settings (the floor: HTTP, the WSGI bridge, 53 KiB to send)."""
    from pawfile.pets.services import pet_revision_bump

    port = helpers.free_port()
    use_cli = helpers.pawfile_web_available(env)
    command = helpers.real_server_command(port, args.server_threads, use_cli)
    path = f"/pets/{pet.pk}/report.pdf"
    print(
        f"Starting {'pawfile web' if use_cli else 'granian'} on {helpers.HOST}:{port}", flush=True
    )
    with helpers.server(command, env, work, work / "pawfile.log"):
        helpers.wait_ready(port, "/health", work / "pawfile.log")
        download = Downloader(helpers, port, path, {"Cookie": cookie, "Accept-Language": "en"})
        try:
            download()  # the server's first report reads the fonts and the template
            results = [
                timed(
                    "HTTP cold (data + compile)",
                    args.cold,
                    download,
                    before=lambda: pet_revision_bump(pet.pk),
                ),
                timed("HTTP warm (cache)", args.warm, download),
            ]
        finally:
            download.close()
    results.append(bare_app(helpers, work, env, path, download.recorded, args))
    return results, download.size


def bare_app(
    helpers: ModuleType,
    work: Path,
    env: dict[str, str],
    path: str,
    recorded: dict[str, object],
    args: argparse.Namespace,
) -> Timing:
    """The warm case against ``bench/bare.py`` replaying the real server's last answer."""
    app_dir = work / "bare"
    app_dir.mkdir(exist_ok=True)
    shutil.copy(BENCH_DIR / "bare.py", app_dir / "bare.py")
    responses = work / "responses.json"
    responses.write_text(json.dumps({path: recorded}), encoding="utf-8")
    bare_env = {**env, "PAWFILE_BENCH_RESPONSES": str(responses), "PYTHONPATH": str(app_dir)}
    port = helpers.free_port()
    print(f"Starting the bare app on {helpers.HOST}:{port}", flush=True)
    command = helpers.granian_command("bare:application", port, args.server_threads)
    with helpers.server(command, bare_env, work, work / "bare.log"):
        helpers.wait_ready(port, path, work / "bare.log")
        download = Downloader(helpers, port, path, {})
        try:
            download()
            return timed("HTTP bare app, same bytes", args.warm, download)
        finally:
            download.close()


def run(args: argparse.Namespace) -> tuple[list[Timing], int]:
    helpers = http_helpers()
    work = Path(tempfile.mkdtemp(prefix="pawfile-bench-report-"))
    try:
        data_dir = work / "data"
        data_dir.mkdir()
        env = helpers.bench_env(data_dir)
        print("Migrating a fresh data directory...", flush=True)
        helpers.migrate(env, work)
        os.environ.update(env)
        import django

        django.setup()
        user, pet = make_pet()
        cookie = session_cookie(user)
        print("Timing in this process...", flush=True)
        results = in_process(user, pet, args)
        http_results, size = over_http(helpers, work, env, pet, cookie, args)
        return results + http_results, size
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so the server and the temporary folder are cleaned up


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", type=int, default=20, help="cold runs per case (20)")
    parser.add_argument("--warm", type=int, default=200, help="warm runs per case (200)")
    parser.add_argument(
        "--server-threads", type=int, default=2, help="pawfile web request threads (2)"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        results, size = run(args)
    except KeyboardInterrupt:
        print("interrupted; server stopped and temporary files removed", file=sys.stderr)
        return 130
    except Exception as exc:  # a failed step: say which, clean up (done above), exit 1
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print()
    print(
        f"Health report of a dog with a photo and 13 records; PDF {size / 1024:.0f} KiB; "
        f"{os.cpu_count()} CPUs; one request at a time over one keep-alive connection"
    )
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
