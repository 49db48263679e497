"""Stored files (photos, attachments, exports…) read and written through Django's storage API
only, so the same code backs up local disk and an object store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

from pawfile.ops.backup.archive import ArchiveError, ArchiveWriter


def media_names(directory: str = "") -> Iterator[str]:
    """Every file name in the default storage, depth first, in a stable order."""
    try:
        folders, files = default_storage.listdir(directory)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{directory}/{name}" if directory else name
    for folder in sorted(folders):
        yield from media_names(f"{directory}/{folder}" if directory else folder)


def media_add(writer: ArchiveWriter) -> int:
    """Add every stored file to the archive as ``media/<name>``; how many were added.

    A file deleted between the listing and its copy (its row was deleted after the database
    snapshot) is skipped.
    """
    count = 0
    for name in media_names():
        try:
            size = default_storage.size(name)
            with default_storage.open(name, "rb") as handle:
                writer.add(f"media/{name}", handle, size)
        except FileNotFoundError:
            continue
        count += 1
    return count


def media_clear() -> int:
    """Delete every stored file (``restore --force``); how many."""
    names = list(media_names())
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
