"""Backups in one process: the archive and its checks, retention, the schedule, and what
/health and /metrics say. The whole backup → wipe → restore cycle is the drill
(``test_backup_drill.py``)."""

from __future__ import annotations

import io
import re
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from pyrage import x25519

from pawfile.ops.backup import retention
from pawfile.ops.backup.archive import ArchiveError, Manifest, archive_read, archive_write
from pawfile.ops.backup.status import backup_schedule, backup_status_forget
from pawfile.ops.models import BackupRun
from pawfile.ops.tasks import backup_scheduled_run
from tests.config.test_settings import pawfile


@pytest.fixture(autouse=True)
def _fresh_status():
    backup_status_forget()
    yield
    backup_status_forget()


def _archive(path: Path, recipient: str = "") -> Manifest:
    manifest = Manifest(engine="sqlite", version="0", created_at="now", tables={"t": 1})
    with archive_write(path, recipient=recipient) as writer:
        data = b"the database"
        writer.add("db/pawfile.sqlite3", io.BytesIO(data), len(data))
        photo = b"\xff\xd8 a photo" * 1000
        writer.add("media/pets/1/photo.jpeg", io.BytesIO(photo), len(photo))
        writer.finish(manifest)
    return manifest


def _read(path: Path, identities: list | None = None) -> dict[str, bytes]:
    got: dict[str, bytes] = {}
    archive_read(path, identities=identities or [], sink=lambda n, s: got.update({n: s.read()}))
    return got


def test_an_archive_reads_back_with_every_member_checked(tmp_path: Path) -> None:
    path = tmp_path / "a.tar"
    _archive(path)

    got = _read(path)

    assert got["db/pawfile.sqlite3"] == b"the database"
    assert oct(path.stat().st_mode)[-3:] == "600"
    assert not list(tmp_path.glob("*.partial"))


def test_a_changed_byte_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "a.tar"
    _archive(path)
    data = bytearray(path.read_bytes())
    data[data.index(b"a photo") + 2] ^= 1
    path.write_bytes(bytes(data))

    with pytest.raises(ArchiveError, match=r"media/pets/1/photo\.jpeg: SHA-256 or size differs"):
        _read(path)


def test_a_member_added_or_cut_short_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "a.tar"
    _archive(path)
    cut = tmp_path / "cut.tar"
    cut.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(ArchiveError, match="damaged or cut short"):
        _read(cut)
    members = tmp_path / "b.tar"  # the same members in another tar, one more, no manifest
    with tarfile.open(path) as source, tarfile.open(members, "w") as target:
        for member in source.getmembers():
            if member.name != "manifest.json":
                target.addfile(member, source.extractfile(member))
    with pytest.raises(ArchiveError, match="has no manifest"):
        _read(members)


def test_an_encrypted_archive_opens_only_with_its_identity(tmp_path: Path) -> None:
    identity = x25519.Identity.generate()
    path = tmp_path / "a.tar.age"
    _archive(path, recipient=str(identity.to_public()))
    assert path.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert b"the database" not in path.read_bytes()

    assert _read(path, [identity])["db/pawfile.sqlite3"] == b"the database"
    with pytest.raises(ArchiveError, match="encrypted: give the key file with --identity"):
        _read(path)
    with pytest.raises(ArchiveError, match="Cannot decrypt the archive"):
        _read(path, [x25519.Identity.generate()])


def test_a_bad_recipient_is_refused_and_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="age recipient"):
        _archive(tmp_path / "a.tar.age", recipient="age1notakey")
    with pytest.raises(ArchiveError, match="starts with 'age1'"):
        _archive(tmp_path / "a.tar.age", recipient="my-password")
    assert list(tmp_path.iterdir()) == []


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_retention_keeps_the_newest_of_each_hour_day_and_week() -> None:
    start = _stamp("2026-11-30 23:00")  # a Monday
    stamps = [start - timedelta(minutes=30 * n) for n in range(24 * 2 * 20)]  # 20 days

    keep = retention.archives_to_keep(stamps, hourly=3, daily=2, weekly=2)

    assert sorted(keep, reverse=True) == [
        _stamp("2026-11-30 23:00"),  # newest, its hour, day and week
        _stamp("2026-11-30 22:30"),  # the newest of the hour before
        _stamp("2026-11-30 21:30"),
        _stamp("2026-11-29 23:30"),  # the newest of the day before, and of last week
    ]


def test_prune_deletes_only_its_own_archives(tmp_path: Path) -> None:
    for stamp in ("20261130T230000Z", "20261130T220000Z", "20261129T230000Z"):
        (tmp_path / f"pawfile-backup-{stamp}.tar.age").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("mine")

    deleted = retention.archives_prune(tmp_path, hourly=2, daily=1, weekly=0)

    assert [p.name for p in deleted] == ["pawfile-backup-20261129T230000Z.tar.age"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes.txt",
        "pawfile-backup-20261130T220000Z.tar.age",
        "pawfile-backup-20261130T230000Z.tar.age",
    ]


def test_the_schedule_fires_when_asked() -> None:
    hourly, daily = backup_schedule("hourly"), backup_schedule("daily")
    cron, off = backup_schedule("15 2 * * 1"), backup_schedule("off")

    assert hourly(_stamp("2026-12-02 10:00")) and not hourly(_stamp("2026-12-02 10:30"))
    assert daily(_stamp("2026-12-02 03:00")) and not daily(_stamp("2026-12-02 04:00"))
    assert cron(_stamp("2026-11-30 02:15")) and not cron(_stamp("2026-12-01 02:15"))
    assert not off(_stamp("2026-12-02 10:00"))


def test_a_bad_schedule_is_named_at_start(tmp_path: Path) -> None:
    result = pawfile(["check"], {"PAWFILE_BACKUP_SCHEDULE": "weekly"}, tmp_path)
    assert result.returncode == 2
    assert "PAWFILE_BACKUP_SCHEDULE must be hourly, daily, off or a crontab line" in result.stderr


def _run(*, ok: bool, ago: timedelta) -> None:
    now = timezone.now()
    BackupRun.objects.create(started_at=now - ago, finished_at=now - ago, ok=ok, trigger="schedule")


def _metric(client, name: str) -> str:
    text = client.get("/metrics").content.decode()
    return re.search(rf"^{name} (\S+)$", text, re.M).group(1)


@pytest.mark.django_db
def test_health_and_metrics_without_any_backup_on_a_new_site(client) -> None:
    body = client.get("/health").json()

    assert body["status"] == "ok"
    backup = body["checks"]["backup"]
    assert (backup["ok"], backup["age_s"], backup["warning"]) == (True, None, None)
    assert _metric(client, "pawfile_backup_age_seconds") == "NaN"


@pytest.mark.django_db
def test_a_stale_backup_is_a_warning_not_a_failure(client, settings) -> None:
    settings.PAWFILE_BACKUP_STALE_AFTER = 3 * 3600
    _run(ok=True, ago=timedelta(hours=4))

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "warn"
    assert response.json()["checks"]["backup"]["warning"] == "stale"
    assert 4 * 3600 - 5 <= float(_metric(client, "pawfile_backup_age_seconds")) <= 4 * 3600 + 60
    assert _metric(client, "pawfile_backup_last_ok") == "1.0"


@pytest.mark.django_db
def test_a_failed_scheduled_backup_shows_in_health_and_metrics(client, settings, tmp_path) -> None:
    settings.PAWFILE_BACKUP_DIR = tmp_path / "backups"
    settings.PAWFILE_BACKUP_ENCRYPT_TO = "age1broken"
    _run(ok=True, ago=timedelta(minutes=30))

    assert backup_scheduled_run() is False

    run = BackupRun.objects.first()
    assert run is not None and not run.ok and "age recipient" in run.error
    body = client.get("/health").json()
    assert (body["status"], body["checks"]["backup"]["warning"]) == ("warn", "failed")
    assert _metric(client, "pawfile_backup_last_ok") == "0.0"
    assert 1700 < float(_metric(client, "pawfile_backup_age_seconds")) < 1900
    assert list((tmp_path / "backups").glob("pawfile-backup-*")) == []


@pytest.mark.django_db(transaction=True)
def test_the_scheduled_backup_of_postgresql_dumps_the_test_database(client, settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL pass only: the SQLite test database is in memory (see the drill)")
    from pawfile.ops.backup.services import backup_verify

    settings.PAWFILE_BACKUP_DIR = tmp_path / "backups"
    settings.PAWFILE_BACKUP_ENCRYPT_TO = ""
    settings.PAWFILE_BACKUP_KEEP_HOURLY = settings.PAWFILE_BACKUP_KEEP_DAILY = 1
    settings.PAWFILE_BACKUP_KEEP_WEEKLY = 1
    old = tmp_path / "backups" / "pawfile-backup-20200101T000000Z.tar"
    old.parent.mkdir()
    old.write_bytes(b"an old archive")

    assert backup_scheduled_run() is True

    (archive,) = (tmp_path / "backups").glob("pawfile-backup-*.tar")  # the old one pruned
    manifest = backup_verify(archive)
    assert manifest.engine == "postgresql"
    assert manifest.tables["ops_backuprun"] == 0 and manifest.tables["django_migrations"] > 40
    assert client.get("/health").json()["checks"]["backup"]["warning"] is None
    assert float(_metric(client, "pawfile_backup_age_seconds")) < 60


@pytest.mark.django_db
def test_an_unreadable_backup_state_never_fails_health(client, monkeypatch) -> None:
    from django.db import OperationalError

    from pawfile.ops.backup import status

    def missing_table(**kwargs: object) -> None:
        raise OperationalError("no such table: ops_backuprun")  # a site not migrated yet

    monkeypatch.setattr(status, "backup_status", missing_table)

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "warn"
    assert response.json()["checks"]["backup"]["warning"] == "unknown"
    assert "no such table" not in response.content.decode()
