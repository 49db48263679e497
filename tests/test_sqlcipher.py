"""Encryption at rest in embedded mode: with ``PAWFILE_DB_KEY`` every SQLite database the site
keeps (its own and the task queue's) is a SQLCipher file (``pawfile.lib.sqlcipher``).

Through the real ``pawfile`` command: the files are noise to plain SQLite ("file is not a
database") and open with the key; a wrong or missing key stops ``pawfile`` at start with a
sentence, not a traceback; ``pawfile backup`` keeps the copy encrypted (the archive's
database opens only with the key) and ``pawfile restore`` puts back a database that again
opens only with the key.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import httpx
import pytest
import sqlcipher3

from pawfile.lib.sqlcipher import connect_keyed
from pawfile.lib.tasks_sqlcipher import SqlCipherHuey
from tests.cluster import PAWFILE, free_port, wait_until_up
from tests.config.test_settings import pawfile

KEY = "correct horse 'battery' staple"  # a quote, to check the escaping
ADMIN = "ann@example.org"


def plain_error(path: Path) -> str:
    """What plain SQLite says when asked to read ``path``."""
    try:
        sqlite3.connect(path).execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return ""


def keyed_tables(path: Path, key: str = KEY) -> set[str]:
    connection = connect_keyed(path, key)
    try:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    finally:
        connection.close()


def admins(path: Path, key: str = KEY) -> list[str]:
    connection = connect_keyed(path, key)
    try:
        return [r[0] for r in connection.execute("SELECT email FROM accounts_user")]
    finally:
        connection.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated site with an admin, made with the key (its folder)."""
    folder = tmp_path_factory.mktemp("cipher")
    env = {"PAWFILE_DB_KEY": KEY, "PAWFILE_ADMIN_PASSWORD": "correct-horse-battery-42"}
    for command in (["migrate"], ["createadmin", "--email", ADMIN]):
        result = pawfile(command, env, folder)
        assert result.returncode == 0, result.stdout + result.stderr
    return folder


def test_the_files_are_unreadable_without_the_key(site: Path) -> None:
    database, tasks = site / "data" / "pawfile.sqlite3", site / "data" / "tasks.sqlite3"
    assert plain_error(database) == "file is not a database"
    assert plain_error(tasks) == "file is not a database"
    assert b"accounts_user" not in database.read_bytes()
    assert ADMIN.encode() not in database.read_bytes()
    assert {"accounts_user", "django_migrations"} <= keyed_tables(database)
    assert admins(database) == [ADMIN]
    assert "task" in keyed_tables(tasks)
    with pytest.raises(sqlcipher3.DatabaseError, match="file is not a database"):
        keyed_tables(database, "another key")


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--bind", "127.0.0.1:9"]])
def test_a_wrong_key_stops_pawfile_with_a_sentence(site: Path, command: list[str]) -> None:
    wrong = pawfile(command, {"PAWFILE_DB_KEY": "not the key"}, site)
    assert wrong.returncode == 2
    assert "PAWFILE_DB_KEY does not open the database" in wrong.stderr
    assert "pawfile.sqlite3" in wrong.stderr and "Traceback" not in wrong.stderr
    missing = pawfile(command, {}, site)
    assert missing.returncode == 2
    assert "it is encrypted (SQLCipher)" in missing.stderr
    assert "Set PAWFILE_DB_KEY" in missing.stderr and "Traceback" not in missing.stderr


def test_backup_and_restore_keep_it_encrypted(site: Path, tmp_path: Path) -> None:
    made = pawfile(["backup", "--to", str(tmp_path / "backups")], {"PAWFILE_DB_KEY": KEY}, site)
    assert made.returncode == 0, made.stdout + made.stderr
    [archive] = (tmp_path / "backups").glob("pawfile-backup-*.tar")
    with tarfile.open(archive) as tar:
        member = tar.extractfile("db/pawfile.sqlite3")
        assert member is not None
        copy = tmp_path / "copy.sqlite3"
        copy.write_bytes(member.read())
    assert plain_error(copy) == "file is not a database"
    assert admins(copy) == [ADMIN]

    verified = pawfile(["backup", "--verify", str(archive)], {"PAWFILE_DB_KEY": KEY}, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    elsewhere = tmp_path / "elsewhere"  # a site of its own, without a key
    elsewhere.mkdir()
    unkeyed = pawfile(["backup", "--verify", str(archive)], {}, elsewhere)
    assert unkeyed.returncode != 0
    assert "encrypted with another key" in unkeyed.stderr + unkeyed.stdout

    target = tmp_path / "restored"
    target.mkdir()
    restored = pawfile(["restore", str(archive)], {"PAWFILE_DB_KEY": KEY}, target)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    database = target / "data" / "pawfile.sqlite3"
    assert plain_error(database) == "file is not a database"
    assert admins(database) == [ADMIN]
    again = pawfile(["migrate"], {"PAWFILE_DB_KEY": "not the key"}, target)
    assert again.returncode == 2 and "does not open the database" in again.stderr

    # a site without the key refuses the archive before it changes anything
    plain = tmp_path / "plain"
    plain.mkdir()
    refused = pawfile(["restore", str(archive)], {}, plain)
    assert refused.returncode != 0
    assert "encrypted with another key" in refused.stderr + refused.stdout
    assert not (plain / "data" / "pawfile.sqlite3").exists()


@pytest.mark.slow
def test_serve_runs_on_the_encrypted_files(site: Path) -> None:
    """The web server's threads and the task consumer all open the files with the key."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PAWFILE_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    env |= {
        "PAWFILE_DATA_DIR": str(site / "data"),
        "PAWFILE_DB_KEY": KEY,
        "PAWFILE_LOG_LEVEL": "WARNING",
    }
    log = site / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PAWFILE, "serve", "--bind", f"127.0.0.1:{port}"],
            env=env,
            cwd=site,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, timeout=120)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=30).json()
        assert health["checks"]["database"]["ok"] is True, health
        assert health["checks"]["queue"]["ok"] is True, health
        login = httpx.post(
            f"http://127.0.0.1:{port}/_allauth/app/v1/auth/login",
            json={"email": ADMIN, "password": "correct-horse-battery-42"},
            timeout=60,
        )
        assert login.status_code == 200, login.text
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    assert plain_error(site / "data" / "pawfile.sqlite3") == "file is not a database"


def test_the_task_queue_round_trips_through_sqlcipher(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    huey = SqlCipherHuey("test", filename=str(path), key=KEY)
    huey.storage.enqueue(b"a task's bytes")
    assert huey.storage.queue_size() == 1
    assert huey.storage.dequeue() == b"a task's bytes"
    huey.storage.close()
    assert plain_error(path) == "file is not a database"
    assert b"a task's bytes" not in io.BytesIO(path.read_bytes()).getvalue()
