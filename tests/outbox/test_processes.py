"""The outbox across real processes: a worker killed mid-send, and two racing for one row.

Each test's site is a database and a queue of its own that every process shares: in the
SQLite pass of the suite, SQLite files under a temporary data dir (the test database is in
memory, which other processes cannot open); in the PostgreSQL + Redis pass, a fresh
PostgreSQL database and its own Redis queue name. The processes are the real
``pawfile worker`` and ``python -m tests.outbox.sitectl`` (Django set up from the same
environment); mail goes over SMTP to a server in this process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.outbox.mailserver import ScriptedMailServer

ROOT = Path(__file__).resolve().parents[2]
PAWFILE = str(Path(sys.executable).with_name("pawfile"))
LEASE = 3  # seconds: PAWFILE_OUTBOX_LEASE in the processes


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a migrated site of this module's own (see the module docstring)."""
    data = tmp_path_factory.mktemp("site")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))},
        "PAWFILE_DATA_DIR": str(data),
        "PAWFILE_SECRET_KEY": "outbox-process-test-" + "s" * 40,
        "PAWFILE_LOG_LEVEL": "WARNING",
        "PAWFILE_OUTBOX_LEASE": str(LEASE),
        "PAWFILE_WORKER_THREADS": "1",
    }
    for name in ("PYTEST_XDIST_WORKER", "EMAIL_URL", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    scale_out = database_url.startswith("postgres") and bool(redis_url)
    name = "pawfile_outbox_" + uuid.uuid4().hex[:8]
    admin_url = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    if scale_out:
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = urlunsplit(urlsplit(database_url)._replace(path="/" + name))
        env["REDIS_URL"] = redis_url
        env["PAWFILE_QUEUE_NAME"] = env["PAWFILE_CACHE_PREFIX"] = name
    try:
        subprocess.run(
            [PAWFILE, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=300
        )
        yield env
    finally:
        if scale_out:
            import psycopg
            import redis

            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(f"*{name}*"):
                client.delete(key)
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mail(site: dict[str, str]) -> Iterator[tuple[ScriptedMailServer, dict[str, str]]]:
    """A scripted SMTP server, and the site's environment with mail going to it."""
    server = ScriptedMailServer()
    server.start()
    try:
        yield server, {**site, "EMAIL_URL": f"smtp://127.0.0.1:{server.port}"}
    finally:
        server.release()
        server.stop()


def ctl(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "tests.outbox.sitectl", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker(env: dict[str, str], log: Path, *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PAWFILE, "worker", *flags],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_for_status(env: dict[str, str], message_id: int, status: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        row = ctl(env, "show", str(message_id))
        if row["status"] == status or time.monotonic() > deadline:
            return row
        time.sleep(0.5)


def test_a_worker_killed_mid_send_is_replaced_and_the_mail_goes_once(
    mail: tuple[ScriptedMailServer, dict[str, str]], tmp_path: Path
) -> None:
    server, env = mail
    server.stall_first_rcpt()
    message_id = ctl(env, "enqueue", "crash:1", "dana@example.org")["id"]

    first = worker(env, tmp_path / "worker-1.log")
    try:
        stalled = server.stalled.wait(60)
        assert stalled, (tmp_path / "worker-1.log").read_text()
        # The worker holds the lease and is in the middle of the SMTP conversation.
        assert ctl(env, "show", str(message_id))["status"] == "sending"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop(first)
    server.release()
    assert server.messages == []

    time.sleep(LEASE + 0.5)  # the dead worker's lease runs out
    # The scheduler runs the sweeper when it starts, then every minute.
    second = worker(env, tmp_path / "worker-2.log", "--scheduler")
    try:
        server.wait_for(to="dana@example.org", timeout=60)
        row = wait_for_status(env, message_id, "sent", timeout=30)
        time.sleep(1)  # room for a duplicate to arrive, if there were one
    finally:
        stop(second)

    assert len(server.find(to="dana@example.org")) == 1
    assert row == {"status": "sent", "attempts": 2, "outcomes": ["lost", "sent"]}


def test_two_workers_racing_for_the_same_messages_send_each_once(
    mail: tuple[ScriptedMailServer, dict[str, str]],
) -> None:
    server, env = mail
    count = 20
    ids = [str(i) for i in ctl(env, "enqueue-many", "race", str(count))["ids"]]
    start = time.time() + 5  # both processes are set up by then and claim together
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.outbox.sitectl", "race", str(start), "0.1", *ids],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))

    for n in range(count):
        assert sorted(str(o["results"][n]) for o in outputs) == ["None", "sent"], n
    addresses = sorted(str(m["To"]) for m in server.messages)
    assert addresses == sorted(f"race-{n}@example.org" for n in range(count))
    assert ctl(env, "attempts", *ids)["attempts"] == [1] * count  # the losers changed nothing
