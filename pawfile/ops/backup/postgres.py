"""Scale-out mode: ``pg_dump --format=custom`` of one snapshot, and ``pg_restore``.

The dump and the manifest's row counts come from the same exported snapshot
(``pg_export_snapshot``): the counts are exactly what the dump holds, whatever was written
while it ran. The connection settings are Django's (``DATABASES["default"]``), handed to the
PostgreSQL tools through ``PG*`` variables, so no password appears on a command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from pawfile.ops.backup.archive import ArchiveError

_ENV = {"HOST": "PGHOST", "PORT": "PGPORT", "USER": "PGUSER", "PASSWORD": "PGPASSWORD"}
_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
}


def pg_environ() -> dict[str, str]:
    """The environment for ``pg_dump``/``pg_restore`` to reach the site's database."""
    config = settings.DATABASES["default"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    environ["PGDATABASE"] = str(config["NAME"])
    for key, name in _ENV.items():
        if config.get(key):
            environ[name] = str(config[key])
    for key, name in _OPTIONS.items():
        if config.get("OPTIONS", {}).get(key):
            environ[name] = str(config["OPTIONS"][key])
    environ["PGCONNECT_TIMEOUT"] = "10"
    return environ


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ArchiveError(f"{name} is not installed; it comes with the PostgreSQL client tools.")
    return found


def _run(args: list[str]) -> None:
    result = subprocess.run(  # noqa: S603 - fixed tool, arguments built here
        args, env=pg_environ(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()
        raise ArchiveError(
            f"{Path(args[0]).name} failed: "
            + (detail[-1] if detail else f"exit {result.returncode}")
        )


def _describe(cursor: Any) -> tuple[dict[str, int], dict[str, list[str]]]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    names = [row[0] for row in cursor.fetchall()]
    tables = {}
    for name in names:
        cursor.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608 - names from the catalogue
        tables[name] = int(cursor.fetchone()[0])
    migrations: dict[str, list[str]] = {}
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cursor.fetchall():
            migrations.setdefault(app, []).append(name)
    return tables, migrations


@contextmanager
def _snapshot_connection() -> Iterator[Any]:
    import psycopg

    config = settings.DATABASES["default"]
    params = {
        "dbname": config["NAME"],
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        **{k: v for k, v in config.get("OPTIONS", {}).items() if k in _OPTIONS},
    }
    conn = psycopg.connect(**{k: v for k, v in params.items() if v is not None})
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        yield conn
    finally:
        conn.close()


def pg_snapshot(target: Path) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Dump the database to ``target`` (custom format) and describe the same snapshot:
    ``(rows per table, applied migrations per app)``."""
    dump = _tool("pg_dump")
    with _snapshot_connection() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        _run(
            [dump, "--format=custom", "--no-password", f"--snapshot={snapshot}", "-f", str(target)]
        )
        described = _describe(cursor)
        conn.rollback()
    return described


def pg_describe() -> tuple[dict[str, int], dict[str, list[str]]]:
    """``(rows per table, applied migrations per app)`` of the site's database now."""
    with connection.cursor() as cursor:
        return _describe(cursor)


def pg_is_empty() -> bool:
    """Does the site's database schema hold no table?"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
        return int(cursor.fetchone()[0]) == 0


def pg_clear() -> int:
    """Drop every table of the site's schema (``--force``); how many were dropped."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        names = [row[0] for row in cursor.fetchall()]
        for name in names:
            cursor.execute(f'DROP TABLE IF EXISTS "{name}" CASCADE')
    return len(names)


def pg_install(staged: Path) -> None:
    """Restore the dump ``staged`` into the site's (empty) database, in one transaction."""
    connection.close()
    _run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-acl",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            "-d",
            str(settings.DATABASES["default"]["NAME"]),
            str(staged),
        ]
    )


def pg_list(staged: Path) -> None:
    """Check that ``pg_restore`` can read the dump ``staged`` (its table of contents)."""
    result = subprocess.run(  # noqa: S603 - fixed tool
        [_tool("pg_restore"), "--list", str(staged)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or "TABLE DATA" not in result.stdout:
        raise ArchiveError("pg_restore cannot read the database dump in the archive.")
