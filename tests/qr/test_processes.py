"""The redirect in the real servers: every scan counted after a clean stop, and an edit
served by every process within a second.

* ``pawfile serve`` (embedded, SQLite; marked ``slow``): scans from four threads, a
  retarget through the API (same worker: in-process invalidation), Ctrl-C, then the
  database holds exactly the scans answered with 302.
* two ``pawfile web`` on PostgreSQL + Redis (marked ``services``): a retarget and a
  deactivation made on node A are served by node B within a second (Redis generation
  counter); scans spread over both nodes, SIGTERM to both, exact count in the database.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.test_stop import ADMIN, PASSWORD, PAWFILE, ROOT, site, start, token  # noqa: F401

PROPAGATION = 1.0  # seconds: the requirement


def scan_burst(urls: list[str], code_id: str, total: int, threads: int = 4) -> int:
    """GET ``/r/{id}`` ``total`` times from ``threads`` threads over ``urls``; the 302s
    (anything else fails the test with what came)."""
    answered = [0] * threads
    other: list[str] = []

    def run(index: int) -> None:
        with httpx.Client(timeout=10) as client:
            for i in range(index, total, threads):
                url = urls[i % len(urls)]
                response = client.get(f"{url}/r/{code_id}?q", headers={"User-Agent": "Mozilla/5.0"})
                if response.status_code == 302:
                    answered[index] += 1
                else:
                    other.append(f"{response.status_code} {response.text[:200]}")

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not other, other[:3]
    return sum(answered)


def location_seen(url: str, code_id: str, want_status: int, want_location: str | None) -> float:
    """Seconds until ``url`` answers ``/r/{id}`` as wanted (HEAD: counts no scan), at most 5."""
    start_at = time.monotonic()
    while time.monotonic() - start_at < 5:
        response = httpx.head(f"{url}/r/{code_id}", timeout=5)
        if (
            response.status_code == want_status
            and response.headers.get("location") == want_location
        ):
            return time.monotonic() - start_at
        time.sleep(0.02)
    return float("inf")


@pytest.mark.slow
def test_serve_counts_every_scan_after_a_clean_stop(start, site) -> None:  # noqa: F811
    running = start("serve")
    running.wait_up()
    auth = {"Authorization": f"Bearer {token(running.url)}"}
    created = httpx.post(
        f"{running.url}/api/v1/qrcodes",
        json={"title": "Poster", "target_url": "https://one.example/"},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    code_id = created.json()["id"]
    assert scan_burst([running.url], code_id, 400) == 400

    changed = httpx.patch(
        f"{running.url}/api/v1/qrcodes/{code_id}",
        json={"target_url": "https://two.example/"},
        headers=auth,
    )
    assert changed.status_code == 200
    assert location_seen(running.url, code_id, 302, "https://two.example/") <= PROPAGATION
    assert scan_burst([running.url], code_id, 100) == 100

    assert running.stop(signal.SIGINT, group=True) < 10, running.output()
    with sqlite3.connect(Path(site["PAWFILE_DATA_DIR"]) / "pawfile.sqlite3") as db:
        rows = db.execute("SELECT count(*) FROM qr_scan WHERE code_id = ?", (code_id,)).fetchone()
        total = db.execute("SELECT scan_count FROM qr_qrcode WHERE id = ?", (code_id,)).fetchone()
    assert rows[0] == 500, running.output()
    assert total[0] == 500


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[dict[str, object]]:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        pytest.fail("this test needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    import psycopg
    import redis

    from tests.test_scaleout import free_port, wait_until_up

    name = "pawfile_qr_" + uuid.uuid4().hex[:8]
    parts = urlsplit(database_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    node_db = urlunsplit(parts._replace(path="/" + name))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    ports = [free_port(), free_port()]
    prefix = "qr-" + uuid.uuid4().hex[:8]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))},
        "DATABASE_URL": node_db,
        "REDIS_URL": redis_url,
        "PAWFILE_CACHE_PREFIX": prefix,
        "PAWFILE_QUEUE_NAME": prefix,
        "PAWFILE_SECRET_KEY": "qr-scale-out-test-" + "s" * 40,
        "PAWFILE_BASE_URL": f"http://127.0.0.1:{ports[0]}",
        "PAWFILE_DATA_DIR": str(tmp_path / "data"),
        "PAWFILE_LOG_LEVEL": "WARNING",
        "PAWFILE_ADMIN_PASSWORD": PASSWORD,
        "PAWFILE_ALLOW_UNSHARED": "1",  # the nodes share one data dir on this machine
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command in ([PAWFILE, "migrate"], [PAWFILE, "createadmin", "--email", ADMIN]):
            subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
        for port in ports:
            log = (tmp_path / f"web-{port}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [PAWFILE, "web", "--bind", f"127.0.0.1:{port}", "--threads", "4"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, process in zip(urls, processes, strict=True):
            wait_until_up(url, process)
        yield {"urls": urls, "processes": processes, "database": node_db}
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.services
def test_two_web_nodes_serve_an_edit_within_a_second(two_nodes) -> None:
    import psycopg

    a, b = two_nodes["urls"]  # type: ignore[misc]
    auth = {"Authorization": f"Bearer {token(a)}"}
    created = httpx.post(
        f"{a}/api/v1/qrcodes",
        json={"title": "P", "target_url": "https://one.example/"},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    code_id = created.json()["id"]
    assert location_seen(b, code_id, 302, "https://one.example/") < 5
    assert scan_burst([a, b], code_id, 300) == 300

    changed = httpx.patch(
        f"{a}/api/v1/qrcodes/{code_id}", json={"target_url": "https://two.example/"}, headers=auth
    )
    assert changed.status_code == 200
    assert location_seen(b, code_id, 302, "https://two.example/") <= PROPAGATION

    off = httpx.patch(f"{a}/api/v1/qrcodes/{code_id}", json={"is_active": False}, headers=auth)
    assert off.status_code == 200
    assert location_seen(b, code_id, 410, None) <= PROPAGATION
    assert location_seen(a, code_id, 410, None) <= PROPAGATION
    assert httpx.get(f"{b}/r/{code_id}").status_code == 410  # not counted

    on = httpx.patch(f"{b}/api/v1/qrcodes/{code_id}", json={"is_active": True}, headers=auth)
    assert on.status_code == 200
    assert location_seen(a, code_id, 302, "https://two.example/") <= PROPAGATION
    assert scan_burst([a, b], code_id, 200) == 200

    for process in two_nodes["processes"]:  # type: ignore[attr-defined]
        process.terminate()
    for process in two_nodes["processes"]:  # type: ignore[attr-defined]
        assert process.wait(timeout=15) == 0
    with psycopg.connect(str(two_nodes["database"])) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM qr_scan WHERE code_id = %s", (code_id,)
        ).fetchone()
        total = conn.execute(
            "SELECT scan_count FROM qr_qrcode WHERE id = %s", (code_id,)
        ).fetchone()
    assert rows is not None and rows[0] == 500
    assert total is not None and total[0] == 500
