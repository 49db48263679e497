"""Make, check and restore backups of the whole site (database, stored files, key files).

``backup_create`` writes one archive (see ``archive``) while the site serves;
``backup_verify`` reads one through and checks every hash (and, for the database, that it
opens and holds the counted rows) without touching the site; ``backup_restore`` puts one
into an empty site (or, with ``force``, over the current one), checks every hash and row
count, and runs the migrations the archive lacks. Each raises ``ArchiveError`` with a message
for a person; ``RestoreRefused`` when the site is not empty.

A target is a folder (``Path``) or a bucket prefix (``s3.S3Location``); an archive to verify
or restore is a file or an object, which is downloaded to a temporary file first.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from pawfile.ops.backup import media, postgres, sqlite
from pawfile.ops.backup.archive import (
    CHUNK,
    ArchiveError,
    ArchiveWriter,
    Manifest,
    archive_read,
    archive_write,
    identities_read,
    recipient_parse,
)
from pawfile.ops.backup.s3 import (
    S3AddressError,
    S3Location,
    is_s3,
    s3_archive_write,
    s3_bucket_check,
    s3_download,
    s3_location_parse,
)
from pawfile.ops.choices import BackupTrigger
from pawfile.ops.models import BackupRun

log = logging.getLogger(__name__)

NAME_PREFIX = "pawfile-backup-"
PG_DUMP = "db/postgres.dump"


class RestoreRefused(ArchiveError):
    """The site is not empty and ``force`` was not given."""


@dataclass
class BackupResult:
    location: str  # the archive's path, or its s3:// address
    manifest: Manifest
    size: int
    seconds: float
    files: int


@dataclass
class RestoreResult:
    manifest: Manifest
    files: int
    migrations_applied: int
    seconds: float
    replaced: list[str] = field(default_factory=list)


def _version() -> str:
    try:
        return metadata.version("pawfile")
    except metadata.PackageNotFoundError:
        return "0"


def _engine() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def _sqlite_paths() -> dict[str, Path]:
    """Archive name → file of each SQLite database of an embedded site (main, task queue)."""
    paths = {"db/pawfile.sqlite3": Path(settings.DATABASES["default"]["NAME"])}
    if "filename" in settings.HUEY:
        paths["db/tasks.sqlite3"] = Path(str(settings.HUEY["filename"]))
    return paths


def _key_paths() -> dict[str, Path]:
    """Key files of the data dir that the running site uses (generated outside production).

    They travel with the data they open: encrypted fields and signed links of a restored
    site work as before. Keys given in the environment are not files here, and stay out.
    """
    found = {}
    secret = settings.DATA_DIR / "secret_key"
    if secret.is_file() and secret.read_text(encoding="utf-8").strip() == settings.SECRET_KEY:
        found["keys/secret_key"] = secret
    fields = settings.DATA_DIR / "field_keys"
    if fields.is_file():
        listed = [k.strip() for k in fields.read_text(encoding="utf-8").splitlines() if k.strip()]
        if listed == list(settings.PAWFILE_FIELD_KEYS):
            found["keys/field_keys"] = fields
    return found


def backup_target(value: Path | str) -> Path | S3Location:
    """Where backups go, from ``--to`` or ``PAWFILE_BACKUP_DIR``: a folder (resolved) or
    ``s3://bucket/prefix/`` (``S3AddressError`` when malformed)."""
    if is_s3(value):
        return s3_location_parse(str(value))
    return Path(value).resolve()


def backup_source(value: str) -> Path | S3Location:
    """The archive to verify or restore: a file, or ``s3://bucket/key`` of one object."""
    return s3_location_parse(value, archive=True) if is_s3(value) else Path(value)


def backup_file_name(when: datetime, *, encrypted: bool) -> str:
    return f"{NAME_PREFIX}{when:%Y%m%dT%H%M%SZ}.tar" + (".age" if encrypted else "")


@contextmanager
def _lock(directory: Path) -> Iterator[None]:
    with (directory / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveError(f"Another backup is being written to {directory}.") from None
        yield


def _database_snapshot(staging: Path) -> tuple[dict[str, int], dict[str, list[str]], dict]:
    """Copy the database(s) into ``staging``: ``(rows, migrations, archive name → file)``."""
    if _engine() == "postgresql":
        dump = staging / "postgres.dump"
        tables, migrations = postgres.pg_snapshot(dump)
        return tables, migrations, {PG_DUMP: dump}
    members = {}
    tables, migrations = {}, {}
    for name, source in _sqlite_paths().items():
        if not source.exists():
            continue
        copy = staging / Path(name).name
        sqlite.sqlite_snapshot(source, copy)
        members[name] = copy
        if name == "db/pawfile.sqlite3":
            tables, migrations = sqlite.sqlite_describe(copy)
    return tables, migrations, members


@contextmanager
def _archive_open(target: Path | S3Location, name: str, recipient: str) -> Iterator[ArchiveWriter]:
    if isinstance(target, S3Location):
        with s3_archive_write(target.child(name), recipient=recipient) as writer:
            yield writer
    else:
        with archive_write(target / name, recipient=recipient) as writer:
            yield writer


def backup_create(
    *, target: Path | S3Location, recipient: str = "", trigger: str = BackupTrigger.COMMAND
) -> BackupResult:
    """Write a backup of the site into ``target`` (a folder, or a bucket prefix: uploaded as
    it is written), encrypted to ``recipient`` if given, and record the attempt
    (``BackupRun``). Raises ``ArchiveError`` when it fails (recorded too); a partial archive
    never stays behind. The database copy is staged in the folder (for a bucket, in the data
    dir), and one backup at a time writes from there (a lock file)."""
    started, clock = timezone.now(), time.monotonic()
    name = backup_file_name(started, encrypted=bool(recipient))
    work = settings.DATA_DIR if isinstance(target, S3Location) else target
    location = str(target.child(name) if isinstance(target, S3Location) else target / name)
    try:
        if recipient:
            recipient_parse(recipient)  # a bad recipient fails before any work
        if isinstance(target, S3Location):
            if not target.key and media.in_storage_bucket(target):
                raise S3AddressError(
                    f"{target} holds the site's stored files: give backups a prefix of their "
                    f"own ({target}backups/) or another bucket."
                )
            s3_bucket_check(target)  # a missing bucket or refused keys fail before any work
        work.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (
            _lock(work),
            tempfile.TemporaryDirectory(dir=work, prefix=".staging-") as tmp,
        ):
            tables, migrations, members = _database_snapshot(Path(tmp))
            manifest = Manifest(
                engine=_engine(),
                version=_version(),
                created_at=started.isoformat(),
                migrations=migrations,
                tables=tables,
            )
            with _archive_open(target, name, recipient) as writer:
                for member, copy in members.items():
                    writer.add_path(member, copy)
                files = media.media_add(writer, skip=media.backup_prefixes(target))
                for member, key_file in _key_paths().items():
                    writer.add_path(member, key_file)
                writer.finish(manifest)
    except Exception as exc:
        message = str(exc) if isinstance(exc, ArchiveError) else f"{type(exc).__name__}: {exc}"
        _record(started, ok=False, trigger=trigger, error=message)
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"The backup failed: {message}") from exc
    size = writer.archive_size
    _record(started, ok=True, trigger=trigger, archive=name, size=size, manifest=manifest)
    return BackupResult(location, manifest, size, time.monotonic() - clock, files)


def _record(started: datetime, *, ok: bool, trigger: str, **facts: Any) -> None:
    manifest = facts.pop("manifest", None)
    try:
        BackupRun.objects.create(
            started_at=started,
            finished_at=timezone.now(),
            ok=ok,
            trigger=trigger,
            rows=manifest.rows if manifest else 0,
            files=len(manifest.media()) if manifest else 0,
            archive=facts.get("archive", ""),
            size=facts.get("size", 0),
            error=facts.get("error", "")[:500],
        )
    except Exception:
        log.exception("could not record the backup run")  # the database may be what failed


class _Stager:
    """An ``archive_read`` sink that keeps chosen members as files in a staging folder."""

    def __init__(self, folder: Path, *, media_too: bool) -> None:
        self.folder, self.media_too = folder, media_too
        self.paths: dict[str, Path] = {}

    def __call__(self, name: str, stream: IO[bytes]) -> None:
        if name.startswith("media/") and not self.media_too:
            return
        path = self.folder / str(len(self.paths))  # never a name from the archive
        with path.open("wb") as out:
            while chunk := stream.read(CHUNK):
                out.write(chunk)
        self.paths[name] = path


def _identities(identity: Path | None) -> list[Any]:
    return identities_read(identity) if identity else []


def _counts_check(manifest: Manifest, found: dict[str, int]) -> None:
    wrong = [
        f"{table}: {found.get(table)} rows, {count} expected"
        for table, count in manifest.tables.items()
        if found.get(table) != count
    ]
    if wrong:
        raise ArchiveError("Row counts differ from the manifest: " + "; ".join(wrong[:10]))


@contextmanager
def _archive_local(source: Path | S3Location, *, folder: Path | None = None) -> Iterator[Path]:
    """The archive as a local file: ``source`` itself, or the object downloaded (into a
    temporary folder in ``folder``, or the system's)."""
    if isinstance(source, S3Location):
        with s3_download(source, folder=folder) as path:
            yield path
    else:
        yield source


def backup_verify(source: Path | S3Location, *, identity: Path | None = None) -> Manifest:
    """Check the archive at ``source`` without restoring it: every member's hash and size,
    the manifest, and that the database opens (SQLite: integrity check and every table's row
    count; PostgreSQL: ``pg_restore --list`` reads the dump)."""
    with (
        _archive_local(source) as path,
        tempfile.TemporaryDirectory(prefix="pawfile-verify-") as tmp,
    ):
        stager = _Stager(Path(tmp), media_too=False)
        manifest = archive_read(path, identities=_identities(identity), sink=stager)
        if manifest.engine == "sqlite" and "db/pawfile.sqlite3" in stager.paths:
            staged = stager.paths["db/pawfile.sqlite3"]
            if not sqlite.sqlite_intact(staged):
                raise ArchiveError("The database in the archive fails SQLite's integrity check.")
            _counts_check(manifest, sqlite.sqlite_describe(staged)[0])
        elif manifest.engine == "postgresql":
            postgres.pg_list(stager.paths[PG_DUMP])
    return manifest


def _site_contents(skip: frozenset[str]) -> list[str]:
    """What the site holds now, in words (empty when there is nothing to overwrite); stored
    files named in ``skip`` (backups) do not count."""
    held = []
    if _engine() == "postgresql":
        if not postgres.pg_is_empty():
            held.append("the database has tables")
    elif not sqlite.sqlite_is_empty(_sqlite_paths()["db/pawfile.sqlite3"]):
        held.append("the database has tables")
    if next(media.media_names(skip=skip), None) is not None:
        held.append("the file storage has files")
    return held


def _migrations_check(manifest: Manifest) -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    unknown = [
        f"{app}.{name}"
        for app, names in manifest.migrations.items()
        if app in loader.migrated_apps
        for name in names
        if (app, name) not in loader.disk_migrations
    ]
    if unknown:
        raise ArchiveError(
            "The archive was made by a newer Pawfile (unknown migrations: "
            + ", ".join(unknown[:5])
            + "); upgrade Pawfile first."
        )


def backup_restore(
    source: Path | S3Location, *, identity: Path | None = None, force: bool = False
) -> RestoreResult:
    """Restore the archive at ``source`` (a file, or an object downloaded into the data dir
    first) into this site; see the module docstring.

    Nothing is changed before the whole archive has been read and checked. The site must not
    be serving (stop every Pawfile process first). Backups kept in the storage's own bucket
    are neither counted as the site's files nor deleted by ``force``.
    """
    clock = time.monotonic()
    engine = _engine()
    skip = media.backup_prefixes(source)
    held = _site_contents(skip)
    if held and not force:
        raise RestoreRefused(
            "This site is not empty: " + " and ".join(held) + ". A restore goes into an empty "
            "data directory or database; stop Pawfile and give --force to replace everything."
        )
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    with (
        _archive_local(source, folder=settings.DATA_DIR) as path,
        tempfile.TemporaryDirectory(dir=settings.DATA_DIR, prefix=".restore-") as tmp,
    ):
        stager = _Stager(Path(tmp), media_too=True)
        manifest = archive_read(path, identities=_identities(identity), sink=stager)
        if manifest.engine != engine:
            raise ArchiveError(
                f"This archive holds a {manifest.engine} database and this site runs on "
                f"{engine}; restore it into a site of the same kind."
            )
        _migrations_check(manifest)
        if engine == "sqlite" and "db/pawfile.sqlite3" in stager.paths:
            # opens with this site's PAWFILE_DB_KEY (or none), else says so: before anything
            # is replaced
            sqlite.sqlite_describe(stager.paths["db/pawfile.sqlite3"])
        replaced = []
        if held:
            replaced = held
            media.media_clear(skip=skip)
        connections.close_all()
        if engine == "postgresql":
            if held:
                postgres.pg_clear()
            postgres.pg_install(stager.paths[PG_DUMP])
            found = postgres.pg_describe()[0]
        else:
            for name, target in _sqlite_paths().items():
                if name in stager.paths:
                    sqlite.sqlite_install(stager.paths[name], target)
            found = sqlite.sqlite_describe(_sqlite_paths()["db/pawfile.sqlite3"])[0]
        _counts_check(manifest, found)
        for name in manifest.media():
            media.media_install(name, stager.paths[f"media/{name}"])
        for name, target in _key_targets().items():
            if name in stager.paths:
                _key_install(stager.paths[name], target)
    before = MigrationRecorder(connection).migration_qs.count()
    call_command("migrate", interactive=False, verbosity=0)
    applied = MigrationRecorder(connection).migration_qs.count() - before
    return RestoreResult(
        manifest, len(manifest.media()), applied, time.monotonic() - clock, replaced
    )


def _key_targets() -> dict[str, Path]:
    return {
        "keys/secret_key": settings.DATA_DIR / "secret_key",
        "keys/field_keys": settings.DATA_DIR / "field_keys",
    }


def _key_install(staged: Path, target: Path) -> None:
    """Put a key file in place (mode 600), replacing the one this process may have made."""
    staged.chmod(0o600)
    os.replace(staged, target)
