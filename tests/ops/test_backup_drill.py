"""The restore drill: a site with data of every kind is backed up (encrypted) while a process
keeps writing, wiped, restored from the archive; every row present at backup time and every
stored file comes back identical.

The site is its own (other processes must open it): in the SQLite pass, SQLite files under a
temporary data dir; in the PostgreSQL + Redis pass, a fresh PostgreSQL database and its own
Redis prefixes. Every step runs the real ``pawfile`` command or ``tests.ops.backup_site``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from pyrage import x25519

ROOT = Path(__file__).resolve().parents[2]
PAWFILE = str(Path(sys.executable).with_name("pawfile"))
WRITER_TABLE = "pets_contact"


def _admin_url(database_url: str) -> str:
    return urlunsplit(urlsplit(database_url)._replace(path="/postgres"))


def _database_recreate(database_url: str, name: str, *, drop_first: bool) -> None:
    import psycopg

    with psycopg.connect(_admin_url(database_url), autocommit=True) as conn:
        if drop_first:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of an empty site of this test's own (see the module docstring)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))},
        "PAWFILE_DATA_DIR": str(tmp_path / "data"),
        "PAWFILE_LOG_LEVEL": "WARNING",
        "PAWFILE_TASKS_IMMEDIATE": "true",
    }
    for name in ("PYTEST_XDIST_WORKER", "EMAIL_URL", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    scale_out = database_url.startswith("postgres")
    name = "pawfile_drill_" + uuid.uuid4().hex[:8]
    if scale_out:
        _database_recreate(database_url, name, drop_first=False)
        env["DATABASE_URL"] = urlunsplit(urlsplit(database_url)._replace(path="/" + name))
        env["PAWFILE_DRILL_DB"] = name
        if redis_url:
            env["REDIS_URL"] = redis_url
            env["PAWFILE_QUEUE_NAME"] = env["PAWFILE_CACHE_PREFIX"] = name
    try:
        yield env
    finally:
        if scale_out:
            import psycopg

            with psycopg.connect(_admin_url(database_url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if redis_url:
                import redis

                client = redis.Redis.from_url(redis_url)
                for key in client.scan_iter(f"*{name}*"):
                    client.delete(key)


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def helper(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "tests.ops.backup_site", *command], env)


def wait_for_writes(progress: Path, at_least: int, writer: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert writer.poll() is None, writer.communicate()
        done = int(progress.read_text() or 0) if progress.exists() else 0
        if done >= at_least:
            return done
        time.sleep(0.05)
    raise AssertionError(f"the writer did not reach {at_least} writes")


def test_backup_while_writing_wipe_restore_gives_back_every_row_and_file(
    site: dict[str, str], tmp_path: Path
) -> None:
    identity = x25519.Identity.generate()
    key_file = tmp_path / "backup.key"
    key_file.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    populated = tmp_path / "populated.json"
    helper(["populate", str(populated)], site)
    assert json.loads(populated.read_text()) == {"mfa": 2, "exports_ready": 1}

    progress, stop, original = tmp_path / "progress", tmp_path / "stop", tmp_path / "orig.json"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.ops.backup_site", "write", str(progress), str(stop),
         str(original)],
        env=site, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for_writes(progress, 5, writer)
        backups = tmp_path / "backups"
        made = run(
            [PAWFILE, "backup", "--to", str(backups), "--encrypt-to", str(identity.to_public())],
            site,
        )
        assert "encrypted with age" in made.stdout
        wait_for_writes(progress, int(progress.read_text()) + 5, writer)
    finally:
        stop.touch()
        _out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    (archive,) = backups.glob("pawfile-backup-*.tar.age")
    # Encrypted: none of what a plain archive shows (its member names, a database's header).
    # Long markers only: a short one ("Rex") turns up by chance in random bytes.
    sealed = archive.read_bytes()
    assert sealed.startswith(b"age-encryption.org/v1\n")
    for plain in (b"manifest.json", b"SQLite format 3\x00", b"PGDMP\x01"):
        assert plain not in sealed

    verified = run([PAWFILE, "backup", "--verify", str(archive), "--identity", str(key_file)], site)
    assert verified.stdout.startswith("OK: every file's SHA-256 matches.")

    data_dir = Path(site["PAWFILE_DATA_DIR"])
    keys_before = {n: (data_dir / n).read_text() for n in ("secret_key", "field_keys")}
    shutil.rmtree(data_dir)  # the wipe: database, files and keys
    if "PAWFILE_DRILL_DB" in site:
        _database_recreate(os.environ["DATABASE_URL"], site["PAWFILE_DRILL_DB"], drop_first=True)
    restored = run([PAWFILE, "restore", str(archive), "--identity", str(key_file)], site)
    assert "every SHA-256 and row count checked" in restored.stdout
    assert {n: (data_dir / n).read_text() for n in keys_before} == keys_before
    again = subprocess.run(
        [PAWFILE, "restore", str(archive), "--identity", str(key_file)],
        env=site, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 2
    assert "This site is not empty: the database has tables" in again.stderr

    after = tmp_path / "restored.json"
    helper(["dump", str(after)], site)  # then writes one contact: the ids carry on
    before, back = json.loads(original.read_text()), json.loads(after.read_text())
    assert back["files"] == before["files"]
    assert len(back["files"]) == 8  # 6 photo variants, the attachment, the export
    assert set(back["tables"]) == set(before["tables"])
    for table, rows in before["tables"].items():
        if table in (WRITER_TABLE, "ops_backuprun"):
            assert set(back["tables"][table]) <= set(rows), table
        else:
            assert back["tables"][table] == rows, table
    assert back["tables"]["ops_backuprun"] == []  # the run is recorded after its snapshot

    # the writer's contacts: exactly those committed before the snapshot, none torn
    written = sorted(
        int(value[2:])
        for row in back["tables"][WRITER_TABLE]
        for value in json.loads(row)
        if isinstance(value, str) and value.startswith("w-") and value[2:].isdigit()
    )
    assert written == list(range(len(written)))
    assert 5 <= len(written) < int(progress.read_text())
