"""Embedded mode: SQLite files copied with SQLite's online backup API, and put back.

Every connection comes from ``pawfile.lib.sqlcipher.connect``: with ``PAWFILE_DB_KEY`` set the
files are SQLCipher databases, opened with the key, and the copy is encrypted with the same
key (the archive never holds the data in the clear; a restore needs the key).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pawfile.lib.sqlcipher import NOT_A_DATABASE, connect
from pawfile.ops.backup.archive import ArchiveError


@contextmanager
def _opened(path: Path | str, **kwargs: Any) -> Iterator[Any]:
    """A connection to the database file ``path`` (keyed when the site has a key); a file
    the key does not open is an ``ArchiveError`` that says so."""
    connection = connect(path, **kwargs)
    try:
        yield connection
    except Exception as exc:
        if NOT_A_DATABASE in str(exc):
            raise ArchiveError(
                f"The database {Path(str(path).removeprefix('file:').split('?')[0]).name} "
                "cannot be read: it is encrypted with another key (PAWFILE_DB_KEY), or with "
                "none while this site has one, or the other way round."
            ) from None
        raise
    finally:
        connection.close()


def sqlite_snapshot(source: Path, target: Path) -> None:
    """Copy the database at ``source`` to a new file ``target``, consistent while it serves.

    SQLite's backup API copies every page in one step inside one read transaction: the copy
    is the database as of one commit. In WAL mode writers go on meanwhile (they append to the
    WAL; the reader keeps its snapshot). The copy is left in rollback-journal mode, one file.
    """
    src = connect(source, timeout=20)
    dst = connect(target)
    try:
        src.execute("PRAGMA busy_timeout=20000")
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    except Exception as exc:  # sqlite3's errors, or sqlcipher3's (classes of its own)
        raise ArchiveError(f"Copying the database {source.name} failed: {exc}") from None
    finally:
        dst.close()
        src.close()


def sqlite_describe(path: Path) -> tuple[dict[str, int], dict[str, list[str]]]:
    """``(rows per table, applied migrations per app)`` of the database file at ``path``."""
    with _opened(f"file:{path}?mode=ro", uri=True) as connection:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        tables = {
            name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: S608
            for name in names
        }
        migrations: dict[str, list[str]] = {}
        if "django_migrations" in tables:
            for app, name in connection.execute(
                "SELECT app, name FROM django_migrations ORDER BY app, name"
            ):
                migrations.setdefault(app, []).append(name)
        return tables, migrations


def sqlite_is_empty(path: Path) -> bool:
    """Is there no database at ``path``, or one without a single table?"""
    if not path.exists() or path.stat().st_size == 0:
        return True
    with _opened(f"file:{path}?mode=ro", uri=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()
        return int(row[0]) == 0


def sqlite_install(staged: Path, target: Path) -> None:
    """Put the database file ``staged`` at ``target``, replacing whatever is there (with its
    WAL and shared-memory files). Nothing may have the target open: the server is stopped."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    try:
        os.replace(staged, target)
    except OSError:  # another file system: copy beside the target, then rename
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(staged, partial)
        os.replace(partial, target)


def sqlite_intact(path: Path) -> bool:
    """Does the database file at ``path`` pass SQLite's integrity check?"""
    with _opened(f"file:{path}?mode=ro", uri=True) as connection:
        try:
            return connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        except Exception as exc:  # sqlite3's or sqlcipher3's DatabaseError
            if NOT_A_DATABASE in str(exc):
                raise  # the key does not open it: said by _opened
            return False
