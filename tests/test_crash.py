"""Crash safety: ``kill -9`` in the middle of concurrent writes loses nothing acknowledged.

Embedded (SQLite): ``pawfile serve`` runs in its own process group; 200 health records are
written concurrently through the API with a JWT; once some have been acknowledged (201) the
whole group gets SIGKILL. After a restart: every acknowledged record is there, exactly as
sent; no record is there twice or in part; SQLite's integrity check passes. The task queue
resumes: an invitation mail whose delivery was failing before the kill (the mail server was
down) is delivered after the restart, once.

Scale-out (services pass, PostgreSQL + Redis): the same with a ``pawfile web`` node and a
``pawfile worker --scheduler``, both killed with SIGKILL and started again.

The figures (acknowledged, present, lost) are printed (``-s``) and kept in the docs.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.smtp import MailServer
from tests.test_scaleout import free_port, wait_until_up

pytestmark = [pytest.mark.slow]

PAWFILE = str(Path(sys.executable).with_name("pawfile"))
ROOT = Path(__file__).resolve().parent.parent
ADMIN = "ann@example.org"
PASSWORD = "correct-horse-battery-42"
WRITES = 200
KILL_AFTER = 40  # acknowledged writes before the kill
INVITED = "erin@example.org"


def mail_server_on(port: int) -> MailServer:
    """A ``MailServer`` on a chosen port (the one the site was told about while it was down)."""
    mail = MailServer()
    mail._controller = Controller(mail, hostname="127.0.0.1", port=port)
    return mail


def mail_stop(mail: MailServer) -> None:
    if getattr(mail._controller, "_thread", None) is not None:
        mail.stop()


def base_env(tmp_path: Path, mail_port: int) -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))},
        "PAWFILE_DATA_DIR": str(tmp_path / "data"),
        "PAWFILE_SECRET_KEY": "crash-test-" + "s" * 40,
        "PAWFILE_ADMIN_PASSWORD": PASSWORD,
        "PAWFILE_LOG_LEVEL": "WARNING",
        "PAWFILE_API_RATELIMIT_USER": "100000/60",
        "PAWFILE_API_RATELIMIT_IP": "100000/60",
        "PAWFILE_JWT_ACCESS_TTL": "3600",
        "PAWFILE_OUTBOX_BACKOFF": "1",
        "PAWFILE_OUTBOX_MAX_ATTEMPTS": "50",
        "PAWFILE_OUTBOX_LEASE": "5",
        "EMAIL_URL": f"smtp://127.0.0.1:{mail_port}",
    }
    for name in ("PYTEST_XDIST_WORKER", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A ``pawfile`` command in a process group of its own (so the whole group can die)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [PAWFILE, *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_members(process.pid), "a process of the group outlived SIGKILL"


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def token(url: str) -> str:
    response = httpx.post(
        f"{url}/_allauth/app/v1/auth/login", json={"email": ADMIN, "password": PASSWORD}, timeout=60
    )
    assert response.status_code == 200, response.text
    return str(response.json()["meta"]["access_token"])


def body(index: int, run: str) -> dict[str, str]:
    return {
        "kind": "vaccination",
        "name": f"crash-{run}-{index}",
        "date": "2025-03-01",
        "notes": f"write {index} of {WRITES}, run {run}",
    }


@dataclass
class Load:
    """200 record writes from a pool of threads; what each got back."""

    url: str
    pet_id: int
    headers: dict[str, str]
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    acknowledged: dict[int, int] = field(default_factory=dict)  # index -> record id
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, index: int) -> None:
        try:
            response = httpx.post(
                f"{self.url}/api/v1/pets/{self.pet_id}/records",
                json=body(index, self.run),
                headers=self.headers,
                timeout=60,
            )
        except httpx.HTTPError:
            with self.lock:
                self.failed += 1
            return
        with self.lock:
            if response.status_code == 201:
                self.acknowledged[index] = int(response.json()["id"])
            else:
                self.failed += 1

    def run_and_kill(self, kill: Callable[[], None]) -> None:
        pool = ThreadPoolExecutor(max_workers=16)
        for index in range(WRITES):
            pool.submit(self.write, index)
        deadline = time.monotonic() + 120
        while len(self.acknowledged) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.acknowledged) >= KILL_AFTER, "the writes did not get going"
        kill()
        with self.lock:
            at_kill = len(self.acknowledged)
        pool.shutdown(wait=True)
        assert at_kill < WRITES, "every write was done before the kill: nothing was tested"


def check_after_restart(load: Load, rows: dict[int, tuple[str, str, str, str]]) -> dict[str, int]:
    """Every acknowledged write is present as sent; nothing twice, nothing in part."""
    names = [name for (_, name, _, _) in rows.values()]
    assert len(names) == len(set(names)), "a write was stored twice"
    lost = [i for i, record_id in load.acknowledged.items() if record_id not in rows]
    for record_id, (kind, name, date, notes) in rows.items():
        index = int(name.rsplit("-", 1)[1])
        sent = body(index, load.run)
        assert (kind, name, date, notes) == (
            sent["kind"],
            sent["name"],
            sent["date"],
            sent["notes"],
        )
        if index in load.acknowledged:
            assert load.acknowledged[index] == record_id
    figures = {
        "attempted": WRITES,
        "acknowledged": len(load.acknowledged),
        "refused_or_cut": load.failed,
        "present": len(rows),
        "present_unacknowledged": len(rows) - (len(load.acknowledged) - len(lost)),
        "lost": len(lost),
    }
    print(f"\ncrash figures: {figures}", flush=True)
    assert lost == [], f"acknowledged writes missing after the crash: {lost[:10]}"
    return figures


def setup_site(url: str) -> tuple[dict[str, str], int, int]:
    """Headers with a JWT, the admin's household id and a new pet's id."""
    headers = {"Authorization": f"Bearer {token(url)}"}
    households = httpx.get(f"{url}/api/v1/households", headers=headers, timeout=60)
    household_id = int(households.json()["items"][0]["id"])
    pet = httpx.post(
        f"{url}/api/v1/pets",
        json={"household_id": household_id, "name": "Rex", "species": "dog"},
        headers=headers,
        timeout=60,
    )
    assert pet.status_code == 201, pet.text
    return headers, household_id, int(pet.json()["id"])


def invite_while_mail_is_down(url: str, headers: dict[str, str], household_id: int) -> None:
    response = httpx.post(
        f"{url}/api/v1/households/{household_id}/invitations",
        json={"email": INVITED, "role": "viewer"},
        headers=headers,
        timeout=60,
    )
    assert response.status_code == 201, response.text


def mail_delivered_once(mail: MailServer) -> None:
    """The invitation arrives after the restart (the sweeper runs each minute) and only once."""
    mail.wait_for(to=INVITED, timeout=150)
    time.sleep(3)
    assert len(mail.find(to=INVITED)) == 1


@pytest.fixture
def mail_port() -> Iterator[int]:
    yield free_port()


def test_kill_9_of_serve_loses_no_acknowledged_write(tmp_path: Path, mail_port: int) -> None:
    env = base_env(tmp_path, mail_port)
    for command in (["migrate"], ["createadmin", "--email", ADMIN]):
        subprocess.run(
            [PAWFILE, *command], env=env, cwd=ROOT, check=True, capture_output=True, timeout=300
        )
    log = tmp_path / "serve.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = start(["serve", "--bind", f"127.0.0.1:{port}"], env, log)
    mail = mail_server_on(mail_port)
    try:
        wait_until_up(url, serve, timeout=120)
        headers, household_id, pet_id = setup_site(url)
        invite_while_mail_is_down(url, headers, household_id)
        load = Load(url, pet_id, headers)
        load.run_and_kill(lambda: kill_group(serve))

        mail.start()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        serve = start(["serve", "--bind", f"127.0.0.1:{port}"], env, log)
        wait_until_up(url, serve, timeout=120)
        database = Path(env["PAWFILE_DATA_DIR"]) / "pawfile.sqlite3"
        with sqlite3.connect(database, timeout=30) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            rows = {
                row[0]: row[1:]
                for row in db.execute(
                    "SELECT id, kind, name, date, notes FROM health_healthrecord WHERE name LIKE ?",
                    (f"crash-{load.run}-%",),
                )
            }
        db.close()
        check_after_restart(load, rows)
        mail_delivered_once(mail)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
        mail_stop(mail)


# --- Scale-out: a web node and a worker on PostgreSQL + Redis ----------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.mark.services
def test_kill_9_of_a_web_node_and_a_worker_loses_nothing(tmp_path: Path, mail_port: int) -> None:
    if not DATABASE_URL.startswith("postgres") or not REDIS_URL:
        pytest.fail("the scale-out crash test needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    import psycopg
    import redis

    name = "pawfile_crash_" + uuid.uuid4().hex[:8]
    parts = urlsplit(DATABASE_URL)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    node_url = urlunsplit(parts._replace(path="/" + name))
    prefix = "crash-" + uuid.uuid4().hex[:8]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {
        **base_env(tmp_path, mail_port),
        "DATABASE_URL": node_url,
        "REDIS_URL": REDIS_URL,
        "PAWFILE_CACHE_PREFIX": prefix,
        "PAWFILE_QUEUE_NAME": prefix,
        "PAWFILE_ALLOW_UNSHARED": "1",  # one node, no files written: local storage is fine
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    mail = mail_server_on(mail_port)
    log = tmp_path / "nodes.log"
    try:
        for command in (["migrate"], ["createadmin", "--email", ADMIN]):
            subprocess.run(
                [PAWFILE, *command], env=env, cwd=ROOT, check=True, capture_output=True,
                timeout=300,
            )  # fmt: skip
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        web = ["web", "--bind", f"127.0.0.1:{port}", "--threads", "4"]
        processes["web"] = start(web, env, log)
        processes["worker"] = start(["worker", "--scheduler"], env, log)
        wait_until_up(url, processes["web"], timeout=120)
        headers, household_id, pet_id = setup_site(url)
        invite_while_mail_is_down(url, headers, household_id)
        load = Load(url, pet_id, headers)

        def kill_both() -> None:
            kill_group(processes["web"])
            kill_group(processes["worker"])

        load.run_and_kill(kill_both)
        mail.start()
        processes["web"] = start(web, env, log)
        processes["worker"] = start(["worker", "--scheduler"], env, log)
        wait_until_up(url, processes["web"], timeout=120)
        with psycopg.connect(node_url) as conn:
            rows = {
                row[0]: (row[1], row[2], row[3].isoformat(), row[4])
                for row in conn.execute(
                    "SELECT id, kind, name, date, notes FROM health_healthrecord "
                    "WHERE name LIKE %s",
                    (f"crash-{load.run}-%",),
                )
            }
        check_after_restart(load, rows)
        mail_delivered_once(mail)
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        mail_stop(mail)
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
