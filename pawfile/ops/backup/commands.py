"""``pawfile backup``, ``pawfile backup --verify`` and ``pawfile restore``: what they print.

Each returns the process exit code: 0 done, 1 the archive or the backup failed (an object
store that cannot be reached, a bucket that does not exist, keys it refuses), 2 refused (bad
arguments such as a malformed ``s3://`` address, a site that is not empty).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings

from pawfile.ops.backup.archive import ArchiveError, Manifest
from pawfile.ops.backup.s3 import S3AddressError
from pawfile.ops.backup.services import (
    RestoreRefused,
    backup_create,
    backup_restore,
    backup_source,
    backup_target,
    backup_verify,
)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _summary(manifest: Manifest) -> str:
    applied = sum(len(names) for names in manifest.migrations.values())
    return (
        f"{manifest.engine} database: {len(manifest.tables)} tables, {manifest.rows} rows, "
        f"{applied} migrations; {len(manifest.media())} stored files; "
        f"made by Pawfile {manifest.version} at {manifest.created_at}"
    )


def _fail(message: str, code: int = 1) -> int:
    print(f"pawfile: {message}", file=sys.stderr)
    return code


def backup_command(args: Any) -> int:
    """``pawfile backup [--to DIR|s3://BUCKET/PREFIX/] [--encrypt-to RECIPIENT]`` or
    ``--verify ARCHIVE`` (a file or ``s3://BUCKET/KEY``)."""
    if args.verify:
        identity = Path(args.identity) if args.identity else None
        try:
            manifest = backup_verify(backup_source(args.verify), identity=identity)
        except S3AddressError as exc:
            return _fail(str(exc), 2)
        except ArchiveError as exc:
            return _fail(f"verification failed: {exc}")
        print(f"OK: every file's SHA-256 matches. {_summary(manifest)}.")
        return 0
    recipient = (
        args.encrypt_to if args.encrypt_to is not None else settings.PAWFILE_BACKUP_ENCRYPT_TO
    )
    try:
        result = backup_create(
            target=backup_target(args.to or settings.PAWFILE_BACKUP_DIR), recipient=recipient
        )
    except S3AddressError as exc:
        return _fail(str(exc), 2)
    except ArchiveError as exc:
        return _fail(str(exc))
    encrypted = "encrypted with age" if recipient else "NOT encrypted"
    print(
        f"Backup written: {result.location} ({_size(result.size)}, {encrypted}, "
        f"{result.seconds:.1f} s)\n  {_summary(result.manifest)}"
    )
    return 0


def restore_command(args: Any) -> int:
    """``pawfile restore ARCHIVE [--identity KEYFILE] [--force]`` (a file or ``s3://…``)."""
    identity = Path(args.identity) if args.identity else None
    try:
        result = backup_restore(backup_source(args.archive), identity=identity, force=args.force)
    except (RestoreRefused, S3AddressError) as exc:
        return _fail(str(exc), 2)
    except ArchiveError as exc:
        return _fail(f"restore failed: {exc}")
    manifest = result.manifest
    if result.replaced:
        print("Replaced what the site held: " + " and ".join(result.replaced) + ".")
    print(
        f"Restored {args.archive} ({result.seconds:.1f} s): every SHA-256 and row count checked.\n"
        f"  {_summary(manifest)}\n"
        f"  {len(manifest.tables)} tables with {manifest.rows} rows, {result.files} files; "
        f"{result.migrations_applied} migrations applied since."
    )
    return 0
