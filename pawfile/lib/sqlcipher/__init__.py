"""SQLCipher: the embedded mode's SQLite databases encrypted with ``PAWFILE_DB_KEY``.

This package is a Django database backend (``ENGINE = "pawfile.lib.sqlcipher"``, see
``base.py``): Django's SQLite backend on the ``sqlcipher3`` driver, which sends
``PRAGMA key`` before anything else on every connection. ``huey.py`` is the same for the task
queue's SQLite file. The settings switch both on when ``PAWFILE_DB_KEY`` (or ``_FILE``) is
set in embedded mode.

The key is a passphrase: SQLCipher derives the page key from it (PBKDF2-HMAC-SHA512, 256,000
rounds, about 0.1 s once per connection; connections are kept). The files open with any
SQLCipher 4 tool given the same passphrase (``sqlcipher data/pawfile.sqlite3`` then
``PRAGMA key = '...';``). Without the key a file reads as noise: ``file is not a
database``.

Also here: ``connect`` (a keyed or plain DB-API connection to a database file, for the
backups) and ``database_open_check`` (does the configured key open the database? a wrong key
becomes a message for a person, not a traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ENGINE = "pawfile.lib.sqlcipher"
# SQLite's word for "these bytes are no database": a wrong key, or no key for an encrypted file.
NOT_A_DATABASE = "file is not a database"


def key_pragma(key: str) -> str:
    """The ``PRAGMA key`` statement for the passphrase ``key`` (quotes doubled)."""
    return "PRAGMA key = '{}'".format(key.replace("'", "''"))


def connect_keyed(database: str | Path, key: str, **kwargs: Any) -> Any:
    """A ``sqlcipher3`` connection to ``database`` that has been given ``key`` (its first
    statement). SQLCipher's own log of a failed decryption is silenced: the caller turns the
    error into a message."""
    import sqlcipher3

    connection = sqlcipher3.connect(str(database), **kwargs)
    connection.execute("PRAGMA cipher_log_level = NONE")
    connection.execute(key_pragma(key))
    return connection


def connect(database: str | Path, *, key: str | None = None, **kwargs: Any) -> Any:
    """A DB-API connection to the SQLite file ``database``: keyed with ``key`` when given,
    else with the site's ``PAWFILE_DB_KEY`` (when Django is configured and one is set), else
    plain ``sqlite3``. ``kwargs`` go to ``connect`` (``uri=True``, ``timeout``...)."""
    if key is None:
        key = _site_key()
    if key:
        return connect_keyed(database, key, **kwargs)
    import sqlite3

    return sqlite3.connect(database, **kwargs)


def _site_key() -> str:
    from django.conf import settings

    if not settings.configured:
        return ""
    return str(getattr(settings, "PAWFILE_DB_KEY", "") or "")


def database_open_check() -> None:
    """Open each SQLite file the site keeps (its database, the task queue's) once; raise
    ``ImproperlyConfigured`` with a message for a person when one cannot be read with the key
    given (or without one). Needs the settings, not the apps (it runs before they load).
    Files not made yet are skipped (they are made with the key); PostgreSQL is not looked at.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    files: list[tuple[Path, str]] = []
    if database["ENGINE"] in {ENGINE, "django.db.backends.sqlite3"}:
        files.append((Path(str(database["NAME"])), str(database["OPTIONS"].get("key", ""))))
    huey = getattr(settings, "HUEY", {})
    if isinstance(huey, dict) and huey.get("filename") and not huey.get("immediate"):
        files.append((Path(str(huey["filename"])), str(huey.get("key", ""))))
    for path, key in files:
        _file_open_check(path, key)


def _file_open_check(path: Path, key: str) -> None:
    from django.core.exceptions import ImproperlyConfigured

    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        connection = connect(f"file:{path}?mode=ro", key=key, uri=True, timeout=20)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            connection.close()
    except Exception as exc:
        if NOT_A_DATABASE not in str(exc):
            raise
        if key:
            raise ImproperlyConfigured(
                f"PAWFILE_DB_KEY does not open the database {path}: the key is wrong, or the "
                "file was made without encryption. Start with the key it was made with "
                "(see docs/operations.md, 'SQLCipher')."
            ) from None
        raise ImproperlyConfigured(
            f"The database {path} cannot be read: it is encrypted (SQLCipher) or damaged. "
            "Set PAWFILE_DB_KEY (or PAWFILE_DB_KEY_FILE) to the key it was made with."
        ) from None
