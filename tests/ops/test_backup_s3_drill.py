"""The restore drill with a bucket: a site whose files are in S3 (moto, ``tests/s3.py``) backs
up into the same bucket under ``backups/`` (``PAWFILE_BACKUP_DIR=s3://…``), loses its database,
data dir and every stored file, and is restored from the bucket; every row and file comes back.
Then the scheduler's backup prunes old archives there, and the store's failures are one line.

In the SQLite pass the site is SQLite files; in the PostgreSQL + Redis pass a fresh database
(the ``site`` fixture of ``test_backup_drill.py``). Every step is the real ``pawfile`` command
or ``tests.ops.backup_site`` in its own process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pyrage import x25519

from tests.ops.test_backup_drill import (
    PAWFILE,
    ROOT,
    _database_recreate,
    helper,
    run,
    site,  # noqa: F401 - the fixture
)
from tests.s3 import free_port, s3_client, s3_env, s3_keys


def fails(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result


def test_backup_to_a_bucket_verify_wipe_restore_prune(
    site: dict[str, str],  # noqa: F811
    s3_server: str,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    env = {**site, **s3_env(s3_server, s3_bucket, PAWFILE_BACKUP_DIR=f"s3://{s3_bucket}/backups")}
    identity = x25519.Identity.generate()
    key_file = tmp_path / "backup.key"
    key_file.write_text(f"{identity}\n")
    helper(["populate", str(tmp_path / "populated.json")], env)

    made = run([PAWFILE, "backup", "--encrypt-to", str(identity.to_public())], env)

    (archive,) = [key for key in s3_keys(s3_server, s3_bucket) if key.startswith("backups/")]
    assert archive.startswith("backups/pawfile-backup-") and archive.endswith(".tar.age")
    address = f"s3://{s3_bucket}/{archive}"
    assert made.stdout.startswith(f"Backup written: {address} (")
    assert "8 stored files" in made.stdout  # the site's files, in the bucket beside it
    sealed = s3_client(s3_server).get_object(Bucket=s3_bucket, Key=archive)["Body"].read()
    assert sealed.startswith(b"age-encryption.org/v1\n") and b"manifest.json" not in sealed

    verified = run([PAWFILE, "backup", "--verify", address, "--identity", str(key_file)], env)
    assert verified.stdout.startswith("OK: every file's SHA-256 matches.")

    original = tmp_path / "orig.json"
    helper(["dump", str(original)], env)  # then adds a contact, after the dump
    # The wipe: database, data dir and every stored file; the backups stay.
    shutil.rmtree(env["PAWFILE_DATA_DIR"])
    if "PAWFILE_DRILL_DB" in env:
        _database_recreate(os.environ["DATABASE_URL"], env["PAWFILE_DRILL_DB"], drop_first=True)
    client = s3_client(s3_server)
    for key in s3_keys(s3_server, s3_bucket):
        if not key.startswith("backups/"):
            client.delete_object(Bucket=s3_bucket, Key=key)

    restored = run([PAWFILE, "restore", address, "--identity", str(key_file)], env)

    assert "every SHA-256 and row count checked" in restored.stdout
    after = tmp_path / "restored.json"
    helper(["dump", str(after)], env)
    before, back = json.loads(original.read_text()), json.loads(after.read_text())
    assert len(back["files"]) == 8 and back["files"] == before["files"]
    assert set(back["tables"]) == set(before["tables"])
    for table, rows in before["tables"].items():
        if table != "ops_backuprun":  # the run is recorded after its snapshot
            assert back["tables"][table] == rows, table
    again = fails([PAWFILE, "restore", address, "--identity", str(key_file)], env)
    assert again.returncode == 2 and "This site is not empty" in again.stderr

    # The scheduler's backup goes to PAWFILE_BACKUP_DIR and prunes there: with one of each
    # kept, the new archive stays, the older ones go, other objects stay.
    old = "backups/pawfile-backup-20200101T000000Z.tar"
    for key in (old, "backups/README.txt"):
        client.put_object(Bucket=s3_bucket, Key=key, Body=b"not a backup of this site")
    keep_one = {f"PAWFILE_BACKUP_KEEP_{period}": "1" for period in ("HOURLY", "DAILY", "WEEKLY")}
    helper(["scheduled"], {**env, **keep_one})
    backups = [key for key in s3_keys(s3_server, s3_bucket) if key.startswith("backups/")]
    assert len(backups) == 2 and "backups/README.txt" in backups
    assert old not in backups and archive not in backups
    newest = f"s3://{s3_bucket}/{backups[1]}"
    assert backups[1] > archive
    checked = run([PAWFILE, "backup", "--verify", newest], env)
    assert "8 stored files" in checked.stdout  # not the archives beside them

    # What the store refuses, or what cannot reach it, is one line and an exit code.
    no_bucket = fails([PAWFILE, "backup", "--to", "s3://no-such-bucket-here/x/"], env)
    assert no_bucket.returncode == 1
    assert "The bucket 'no-such-bucket-here' does not exist" in no_bucket.stderr
    away = {**env, "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    unreachable = fails([PAWFILE, "backup", "--to", f"s3://{s3_bucket}/backups/"], away)
    assert unreachable.returncode == 1 and "Cannot reach the object store" in unreachable.stderr
    root = fails([PAWFILE, "backup", "--to", f"s3://{s3_bucket}"], env)
    assert root.returncode == 2 and "holds the site's stored files" in root.stderr
    # --force: the site is not empty, and nothing is replaced before the archive is read
    held = s3_keys(s3_server, s3_bucket)
    missing = fails([PAWFILE, "restore", f"s3://{s3_bucket}/backups/nothing.tar", "--force"], env)
    assert missing.returncode == 1 and "No archive at" in missing.stderr
    assert s3_keys(s3_server, s3_bucket) == held
    assert not list(Path(env["PAWFILE_DATA_DIR"]).glob(".s3-download-*"))


@pytest.mark.parametrize("value", ["s3://", "s3://UPPER/x", "s3://a/x"])
def test_a_malformed_backup_bucket_is_named_at_start(value: str, tmp_path: Path) -> None:
    from tests.config.test_settings import pawfile

    result = pawfile(["check"], {"PAWFILE_BACKUP_DIR": value}, tmp_path)

    assert result.returncode == 2
    assert "PAWFILE_BACKUP_DIR must be a folder or s3://bucket/prefix/" in result.stderr
