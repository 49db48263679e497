"""Huey's SQLite queue on SQLCipher: the task queue file (``tasks.sqlite3``) is encrypted
with the same key as the site's database (tasks hold ids, but also mail addresses and
arguments). The settings choose ``SqlCipherHuey`` when ``PAWFILE_DB_KEY`` is set.

Part of the task engine behind ``pawfile.lib.tasks``, in a module of its own because Huey's
Django app imports this class while it builds ``HUEY``, before ``lib.tasks`` (which imports
that ``HUEY``) could be imported."""

from __future__ import annotations

from typing import Any

from huey import Huey
from huey.storage import SqliteStorage
from sqlcipher3 import dbapi2 as Database

from pawfile.lib.sqlcipher import connect_keyed


class SqlCipherStorage(SqliteStorage):
    """``SqliteStorage`` whose connection is ``sqlcipher3``'s, given ``key`` first."""

    integrity_error = Database.IntegrityError
    operational_error = Database.OperationalError

    def __init__(self, *args: Any, key: str, **kwargs: Any) -> None:
        self._cipher_key = key
        super().__init__(*args, **kwargs)

    def _create_connection(self) -> Any:
        conn = connect_keyed(
            self.filename,
            self._cipher_key,
            timeout=self._timeout,
            check_same_thread=False,
            **self._conn_kwargs,
        )
        conn.isolation_level = None  # autocommit, as Huey's own
        self._set_journal_mode(conn)
        if self._cache_mb:
            conn.execute(f"pragma cache_size={-1000 * int(self._cache_mb)}")
        if self._fsync is not None:
            conn.execute(f"pragma synchronous={2 if self._fsync else 0}")
        return conn


class SqlCipherHuey(Huey):
    storage_class = SqlCipherStorage
