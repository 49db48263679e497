"""Many new rows of one model with one INSERT, from plain tuples: no model instance each.

Moved here from the notifications' batch send so that the outbox (below it) writes its rows
the same way: building and compiling a model instance per row cost more than the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any, cast

from django.db import connection
from django.db.models import Field, Model

from pawfile.lib import sqlrows


def insert_rows(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    returning: Sequence[str] = (),
) -> dict[tuple[Any, ...], int]:
    """INSERT ``rows`` (tuples of plain values for ``fields``: ids for foreign keys, aware
    datetimes) into ``model``'s table, in the caller's transaction: on PostgreSQL one
    statement over one array per column, elsewhere as few multi-row VALUES statements as
    the parameter limit allows. No model instance is made and no
    signal is sent: for models with neither ``save()`` overrides nor receivers, and values
    the fields store as they are (text, numbers, booleans, datetimes) or JSON (a
    ``JSONField``'s value, given as the field takes it, is prepared by the field).

    With ``returning`` (field names), returns ``{(value of each, ...): new id}`` for every
    row, read back from ``RETURNING`` (matched by those values, not by the order rows come
    back in, which SQLite does not promise); those values must tell the rows apart.
    Otherwise returns ``{}``. Raises ``IntegrityError`` as the INSERT does."""
    if not rows:
        return {}
    ops = connection.ops
    columns = [cast(Field, model._meta.get_field(name)) for name in fields]
    dated = [i for i, f in enumerate(columns) if f.get_internal_type() == "DateTimeField"]
    as_json = [i for i, f in enumerate(columns) if f.get_internal_type() == "JSONField"]
    if as_json:
        rows = [_json_prepared(row, as_json, columns) for row in rows]
    quoted = ", ".join(sqlrows.name(model, name) for name in fields)
    back = [sqlrows.name(model, name) for name in returning]
    tail = f" RETURNING {sqlrows.name(model, 'id')}, {', '.join(back)}" if back else ""
    table = sqlrows.table(model)
    found: dict[tuple[Any, ...], int] = {}
    if connection.vendor == "postgresql":
        # One array per column and ``unnest``: the statement's text stays the same whatever
        # the number of rows, so the driver parses it once, where thousands of ``%s`` in a
        # VALUES list are parsed again on every call (most of the cost of the statement).
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
        sql = f"INSERT INTO {table} ({quoted}) SELECT * FROM unnest({arrays}){tail}"  # noqa: S608 - names from the model
        with connection.cursor() as cursor:
            cursor.execute(sql, [_pg_array(column) for column in zip(*rows, strict=True)])
            if back:
                for pk, *key in cursor.fetchall():
                    found[tuple(key)] = pk
        return found
    per_statement = max(1, _params_max() // len(fields))
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            params: list[Any] = []
            for row in part:
                values = list(row)
                for i in dated:
                    values[i] = ops.adapt_datetimefield_value(values[i])
                params += values
            sql = (
                f"INSERT INTO {table} ({quoted}) "  # noqa: S608 - names from the model
                f"VALUES {', '.join([one] * len(part))}{tail}"
            )
            cursor.execute(sql, params)
            if back:
                for pk, *key in cursor.fetchall():
                    found[tuple(key)] = pk
    return found


# Rows per statement at most in ``sqlite_values_insert``: measured on the scans' table,
# 500, 1,000 and 2,000 rows a statement cost the same per row; 100 a sixth more.
SQLITE_ROWS_MOST = 512


def sqlite_values_insert(cursor: Any, head: str, width: int, values: Sequence[Any]) -> int:
    """INSERT ``len(values) // width`` rows on SQLite, in the caller's transaction.

    ``head`` is ``INSERT INTO table (a, b, ...)`` naming ``width`` columns; ``values`` holds
    the rows' values one after the other, each as the driver stores it (no adaptation);
    ``cursor`` is Django's cursor. Multi-row ``VALUES``: ``SQLITE_ROWS_MOST`` rows (fewer if
    the parameter limit says so) a statement while that many are left, then one statement
    per power of two of the rest, largest first. So a head and width have a handful of
    statement texts, made once per process and compiled once per connection (the driver
    keeps compiled statements by text), and SQLite's work per statement (the AUTOINCREMENT
    sequence, opening the table and its indexes; an ``executemany`` pays it for every row,
    and releases and takes back the GIL for every row) is paid once per statement. The
    statements go to the driver's own ``execute`` with ``?`` placeholders (Django's wrapper
    rewrites ``%s`` with a regular expression on every call, long for thousands of them),
    unless something watches the queries (``CaptureQueriesContext``, ``DEBUG``, an
    ``execute_wrapper``), which then sees them through Django's cursor. Returns the rows
    inserted; raises as the INSERT does (Django's exceptions)."""
    if len(values) % width:
        raise ValueError(f"{len(values)} values are not rows of {width}")
    rows = len(values) // width
    db = cursor.db
    driver = cursor.cursor
    watched = bool(db.queries_logged or db.execute_wrappers)
    done = 0
    for size in _sizes(rows, _rows_most(width)):
        part = values[done * width : (done + size) * width]
        if watched:
            cursor.execute(_values_sql(head, width, size, "%s"), part)
        else:
            with db.wrap_database_errors:
                super(type(driver), driver).execute(_values_sql(head, width, size, "?"), part)
        done += size
    return rows


def _sizes(rows: int, most: int) -> Iterator[int]:
    """The statement sizes of ``sqlite_values_insert`` for ``rows`` rows."""
    full, rest = divmod(rows, most)
    yield from [most] * full
    while rest:
        bit = 1 << (rest.bit_length() - 1)  # the largest power of two left
        yield bit
        rest -= bit


def _rows_most(width: int) -> int:
    """The largest power of two of rows, at most ``SQLITE_ROWS_MOST``, that a statement
    of ``width`` parameters a row may carry."""
    most = SQLITE_ROWS_MOST
    while most > 1 and most * width > _params_max():
        most >>= 1
    return most


@lru_cache(maxsize=256)
def _values_sql(head: str, width: int, rows: int, mark: str) -> str:
    """``head VALUES (?, ...), ...`` for ``rows`` rows, ``mark`` the placeholder (the same
    text object each time, so its hash, which the driver's statement cache looks up, is
    computed once)."""
    one = "(" + ", ".join([mark] * width) + ")"
    return f"{head} VALUES {', '.join([one] * rows)}"


def _pg_array(values: Sequence[Any]) -> Any:
    """One column's values as a parameter for ``%s::<type>[]``: the array's text literal
    when every value is ``None``, a ``str`` (or a ``str`` enum: its value), an ``int``, a
    ``bool`` or an aware datetime (sent as UTC ISO text), else the list (the driver's
    adaptation). The literal is the same array the driver would send, built with a few
    string operations per value where the driver's array dumper costs several
    microseconds per element (most of the tick's client CPU for its INSERTs)."""
    out: list[str] = []
    for value in values:
        if value is None:
            out.append("NULL")
        elif isinstance(value, str):
            out.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif type(value) is int:
            out.append(str(value))
        elif type(value) is bool:
            out.append("t" if value else "f")
        elif type(value) is dt.datetime and value.tzinfo is not None:
            if value.tzinfo is not dt.UTC:
                value = value.astimezone(dt.UTC)
            out.append(value.isoformat())
        else:
            return list(values)
    return "{" + ",".join(out) + "}"


def _params_max() -> int:
    """How many parameters one statement may carry here."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        # SQLite's own compiled limit (32766 by default since 3.32), not Django's cautious
        # 999; SQLCipher's driver cannot be asked (no ``getlimit``): the default of its version
        import sqlite3

        getlimit = getattr(connection.connection, "getlimit", None)
        if getlimit is None:
            driver: Any = connection.Database  # type: ignore[attr-defined]
            return 32766 if driver.sqlite_version_info >= (3, 32) else 999
        return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    return 30_000  # PostgreSQL takes 65,535 per statement; this keeps each under a few MB


def _json_prepared(
    row: tuple[Any, ...], indexes: list[int], columns: list[Field[Any, Any]]
) -> tuple[Any, ...]:
    """``row`` with the values of its JSON columns as their fields hand them to the driver."""
    values = list(row)
    for i in indexes:
        values[i] = columns[i].get_db_prep_value(values[i], connection, prepared=False)
    return tuple(values)
