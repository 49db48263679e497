"""Many new rows of one model with one INSERT, from plain tuples: no model instance each.

Moved here from the notifications' batch send so that the outbox (below it) writes its rows
the same way: building and compiling a model instance per row cost more than the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
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
            cursor.execute(sql, [list(column) for column in zip(*rows, strict=True)])
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


def _params_max() -> int:
    """How many parameters one statement may carry here."""
    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        # SQLite's own compiled limit (32766 by default since 3.32), not Django's cautious 999
        return int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    return 30_000  # PostgreSQL takes 65,535 per statement; this keeps each under a few MB


def _json_prepared(
    row: tuple[Any, ...], indexes: list[int], columns: list[Field[Any, Any]]
) -> tuple[Any, ...]:
    """``row`` with the values of its JSON columns as their fields hand them to the driver."""
    values = list(row)
    for i in indexes:
        values[i] = columns[i].get_db_prep_value(values[i], connection, prepared=False)
    return tuple(values)
