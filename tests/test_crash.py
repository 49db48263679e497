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

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.cluster import PAWFILE, Cluster, free_port, local_cluster, services_cluster
from tests.smtp import MailServer

pytestmark = [pytest.mark.slow]

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


def site_values(mail_port: int) -> dict[str, str]:
    """The crash tests' settings: an admin, no API limits, a quick outbox retry and lease."""
    return {
        "PAWFILE_ADMIN_PASSWORD": PASSWORD,
        "PAWFILE_API_RATELIMIT_USER": "100000/60",
        "PAWFILE_API_RATELIMIT_IP": "100000/60",
        "PAWFILE_JWT_ACCESS_TTL": "3600",
        "PAWFILE_OUTBOX_BACKOFF": "1",
        "PAWFILE_OUTBOX_MAX_ATTEMPTS": "50",
        "PAWFILE_OUTBOX_LEASE": "5",
        "EMAIL_URL": f"smtp://127.0.0.1:{mail_port}",
    }


def site_prepared(site: Cluster, mail_port: int) -> None:
    site.env |= site_values(mail_port)
    site.pawfile("migrate")
    site.pawfile("createadmin", "--email", ADMIN)


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
    mail = mail_server_on(mail_port)
    try:
        with local_cluster(tmp_path, label="crash") as site:
            site_prepared(site, mail_port)
            port = free_port()
            url = site.web(port, command="serve")
            site.up(timeout=120)
            headers, household_id, pet_id = setup_site(url)
            invite_while_mail_is_down(url, headers, household_id)
            load = Load(url, pet_id, headers)
            load.run_and_kill(lambda: site.kill(f"serve-{port}"))

            mail.start()
            site.web(command="serve")
            site.up(timeout=120)
            database = Path(site.env["PAWFILE_DATA_DIR"]) / "pawfile.sqlite3"
            with sqlite3.connect(database, timeout=30) as db:
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                rows = {
                    row[0]: row[1:]
                    for row in db.execute(
                        "SELECT id, kind, name, date, notes FROM health_healthrecord "
                        "WHERE name LIKE ?",
                        (f"crash-{load.run}-%",),
                    )
                }
            db.close()
            check_after_restart(load, rows)
            mail_delivered_once(mail)
    finally:
        mail_stop(mail)


# --- Scale-out: a web node and a worker on PostgreSQL + Redis ----------------------------------


@pytest.mark.services
def test_kill_9_of_a_web_node_and_a_worker_loses_nothing(tmp_path: Path, mail_port: int) -> None:
    import psycopg

    mail = mail_server_on(mail_port)
    try:
        with services_cluster(tmp_path, label="crash") as site:
            site.env["PAWFILE_ALLOW_UNSHARED"] = "1"  # one node, no files written: local is fine
            site_prepared(site, mail_port)
            port = free_port()
            url = site.web(port, threads=4)
            site.start("worker", [PAWFILE, "worker", "--scheduler"])
            site.up(timeout=120)
            headers, household_id, pet_id = setup_site(url)
            invite_while_mail_is_down(url, headers, household_id)
            load = Load(url, pet_id, headers)

            def kill_both() -> None:
                site.kill(f"web-{port}")
                site.kill("worker")

            load.run_and_kill(kill_both)
            mail.start()
            site.web(port, threads=4)
            site.start("worker", [PAWFILE, "worker", "--scheduler"])
            site.up(timeout=120)
            with psycopg.connect(site.database_url) as conn:
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
        mail_stop(mail)
