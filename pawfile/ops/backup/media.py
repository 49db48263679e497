"""Stored files (photos, attachments, exports…) read and written through Django's storage API
only, so the same code backs up local disk and an object store.

When backups go to the storage's own bucket (under a prefix), that prefix is not the site's
files: every function here leaves it out (``backup_prefixes``), so a backup never holds the
previous ones and ``restore --force`` never deletes them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from pawfile.ops.backup.archive import ArchiveError, ArchiveWriter


def _storage_bucket() -> tuple[str, str] | None:
    """``(endpoint, bucket)`` of the default storage when it is an S3 bucket."""
    default = settings.STORAGES["default"]
    if not default["BACKEND"].endswith("S3Storage"):
        return None
    options = default.get("OPTIONS", {})
    return (options.get("endpoint_url") or "", options.get("bucket_name") or "")


def in_storage_bucket(location: object) -> bool:
    """Is ``location`` (an ``S3Location``) in the default storage's bucket?"""
    bucket = getattr(location, "bucket", None)
    storage = _storage_bucket()
    endpoint = settings.PAWFILE_BACKUP_S3["endpoint_url"] or ""
    return storage is not None and bucket is not None and (endpoint, bucket) == storage


def backup_prefixes(*also: object) -> frozenset[str]:
    """Storage names that are backups, not the site's files: the key or prefix of each
    ``S3Location`` among ``PAWFILE_BACKUP_DIR`` and ``also`` that lies in the storage's
    bucket on the same endpoint (a prefix ends in ``/``)."""
    from pawfile.ops.backup.s3 import S3Location, is_s3, s3_location_parse

    if _storage_bucket() is None:
        return frozenset()
    targets = [item for item in also if isinstance(item, S3Location)]
    if is_s3(settings.PAWFILE_BACKUP_DIR):
        targets.append(s3_location_parse(str(settings.PAWFILE_BACKUP_DIR)))
    return frozenset(target.key for target in targets if target.key and in_storage_bucket(target))


def media_names(directory: str = "", *, skip: Collection[str] | None = None) -> Iterator[str]:
    """Every file name in the default storage, depth first, in a stable order; names in
    ``skip`` (and everything under those ending in ``/``) are left out. ``skip`` defaults to
    ``backup_prefixes()``."""
    if skip is None:
        skip = backup_prefixes()
    try:
        folders, files = default_storage.listdir(directory)
    except FileNotFoundError:
        return
    for name in sorted(files):
        path = f"{directory}/{name}" if directory else name
        if path not in skip:
            yield path
    for folder in sorted(folders):
        path = f"{directory}/{folder}" if directory else folder
        if path + "/" not in skip:
            yield from media_names(path, skip=skip)


def media_add(writer: ArchiveWriter, *, skip: Collection[str] | None = None) -> int:
    """Add every stored file (``media_names(skip=skip)``) to the archive as
    ``media/<name>``; how many were added.

    A file deleted between the listing and its copy (its row was deleted after the database
    snapshot) is skipped.
    """
    count = 0
    for name in media_names(skip=skip):
        try:
            size = default_storage.size(name)
            with default_storage.open(name, "rb") as handle:
                writer.add(f"media/{name}", handle, size)
        except FileNotFoundError:
            continue
        count += 1
    return count


def media_clear(*, skip: Collection[str] | None = None) -> int:
    """Delete every stored file (``restore --force``) but backups; how many."""
    names = list(media_names(skip=skip))
    for name in names:
        default_storage.delete(name)
    return len(names)


def media_install(name: str, staged: Path) -> None:
    """Store the file ``staged`` under exactly ``name``."""
    with staged.open("rb") as handle:
        saved = default_storage.save(name, File(handle, name=name))
    if saved != name:
        default_storage.delete(saved)
        raise ArchiveError(f"The stored file {name} could not keep its name (got {saved}).")
