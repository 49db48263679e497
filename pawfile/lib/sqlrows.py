"""Hand-written SQL for the hottest reads and one hot write, with Django's own conversions.

Building and compiling a QuerySet costs several hundred microseconds per query, many times
what SQLite or PostgreSQL take to answer it; turning rows into model instances costs about as
much again. The few reads every API call makes (the token's user, the access check on a pet,
a page of pets) are written in SQL here instead, once per shape, and their rows are
converted exactly as the ORM would convert them (the backend's converters, then the field's):
dates and datetimes from SQLite's text, booleans from its integers, aware datetimes in UTC.

``insert`` saves a new model instance with one cached INSERT statement; the values go
through each field's own ``pre_save`` and ``get_db_prep_save`` as in ``Model.save()``. A model
that overrides ``save()`` (or a step under it) is saved by its ``save()``.

``Columns`` describes the selected columns of one model under one table alias; ``sql`` goes
into the SELECT list, ``convert`` turns a slice of a row into Python values and ``instance``
builds the model instance the ORM would have built (``Model.from_db``, so it is not "adding"
and saves update it). Table and column names are always quoted by the connection; values
always travel as query parameters.

The statements run on a driver cursor each connection keeps (``_kept_cursor``), past
Django's per-statement wrappers, unless something watches the queries (execute wrappers,
captured or logged queries): then Django's own cursor runs them and they are counted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save
from django.utils.asyncio import async_unsafe

M = TypeVar("M", bound=Model)
R = TypeVar("R")

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


def _switch(value: str) -> bool:
    if value.strip().lower() not in ("on", "off"):
        raise ImproperlyConfigured(f"PAWFILE_SQLROWS must be on or off, not {value!r}")
    return value.strip().lower() == "on"


# A benchmark switch, not a setting for installs: PAWFILE_SQLROWS=off (``bench/api.py
# --orm``) makes every caller of this module run the equivalent ORM query instead (and
# ``insert`` call ``save()``), so the benchmark shows what the hand-written SQL gains.
HAND_WRITTEN = _switch(os.environ.get("PAWFILE_SQLROWS", "on"))


def converted_dicts(
    rows: Sequence[Sequence[Any]],
    names: tuple[str, ...],
    converters: Sequence[tuple[int, Sequence[Any], Any]],
    connection: Any,
) -> list[dict[str, Any]]:
    """Each row as a dict of ``names`` (one per column, in order), the columns that
    ``converters`` lists (``(index, functions, expression)``, as ``Columns.converters``)
    passed through their converters first: one loop for a page of rows."""
    out = []
    for row in rows:
        values = list(row)
        for index, functions, expression in converters:
            value = values[index]
            for function in functions:
                value = function(value, expression, connection)
            values[index] = value
        out.append(dict(zip(names, values, strict=True)))
    return out


@dataclass(frozen=True)
class Columns:
    model: type[Model]
    alias: str
    attnames: tuple[str, ...]
    sql: str
    converters: tuple[tuple[int, tuple[Converter, ...], Any], ...]
    db: str

    def __len__(self) -> int:
        return len(self.attnames)

    def convert(self, values: Sequence[Any], connection: Any = None) -> list[Any]:
        """``values`` (this model's columns of a row, in order) as the ORM would return them.

        Pass ``connection`` (``connections[db]``) when converting many rows."""
        out = list(values)
        if connection is None:
            connection = connections[self.db]
        for index, functions, expression in self.converters:
            value = out[index]
            for function in functions:
                value = function(value, expression, connection)
            out[index] = value
        return out

    def as_dict(self, values: Sequence[Any], connection: Any = None) -> dict[str, Any]:
        return dict(zip(self.attnames, self.convert(values, connection), strict=True))

    def dicts(
        self, rows: Sequence[Sequence[Any]], connection: Any, extra: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """``as_dict`` of each row, whose first columns are this model's and whose last
        ones are named by ``extra`` (kept as they came): one loop for a page of rows."""
        return converted_dicts(rows, self.attnames + extra, self.converters, connection)

    def instance(self, values: Sequence[Any], connection: Any = None) -> Model:
        return self.model.from_db(self.db, list(self.attnames), self.convert(values, connection))


def _sqlite_utc_datetime(value: Any, expression: Any, connection: Any) -> dt.datetime | None:
    """SQLite keeps datetimes as naive UTC text (``2026-11-22 07:28:11.976000``)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@cache
def columns(
    model: type[Model], alias: str, fields: tuple[str, ...] = (), db: str = DEFAULT_DB_ALIAS
) -> Columns:
    """The concrete columns of ``model`` (or only ``fields``, by name) under table ``alias``."""
    connection = connections[db]
    concrete: list[Field[Any, Any]] = list(model._meta.concrete_fields)
    if fields:
        by_name = {f.name: f for f in concrete} | {f.attname: f for f in concrete}
        concrete = [by_name[name] for name in fields]
    converters = []
    utc_text = (
        connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone_name == "UTC"
    )
    for index, field in enumerate(concrete):
        expression = field.get_col(alias)
        functions = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        if utc_text and field.get_internal_type() == "DateTimeField":
            functions = [_sqlite_utc_datetime]  # what Django's converter does, without its layers
        elif _typed_by_driver(connection, field, functions):
            functions = []
        if functions:
            converters.append((index, tuple(functions), expression))
    return Columns(
        model=model,
        alias=alias,
        attnames=tuple(f.attname for f in concrete),
        sql=", ".join(column(model, f.name, alias, db) for f in concrete),
        converters=tuple(converters),
        db=db,
    )


# SQLite's converters that Django registers with the driver by declared column type
# (``detect_types``), and the ORM's converter each one makes a no-op: the value comes typed.
_DRIVER_TYPED = {
    "bool": "convert_booleanfield_value",  # the driver gives True / False (None for NULL)
    "date": "convert_datefield_value",  # the driver gives a date
}


def _typed_by_driver(connection: Any, field: Field[Any, Any], functions: list[Any]) -> bool:
    """True when ``functions`` is only the ORM's converter for a SQLite column the driver
    already returns typed (a ``bool`` or ``date`` column, read with ``PARSE_DECLTYPES``):
    calling it would hand every value back unchanged."""
    import sqlite3

    if connection.vendor != "sqlite" or len(functions) != 1:
        return False
    wanted = _DRIVER_TYPED.get(str(field.db_type(connection)))
    detect = connection.get_connection_params().get("detect_types", 0)
    return (
        wanted is not None
        and bool(detect & sqlite3.PARSE_DECLTYPES)
        and getattr(functions[0], "__func__", None) is getattr(type(connection.ops), wanted)
    )


@cache
def table(model: type[Model], db: str = DEFAULT_DB_ALIAS) -> str:
    """The quoted table name of ``model``."""
    return connections[db].ops.quote_name(model._meta.db_table)


@cache
def name(model: type[Model], field: str, db: str = DEFAULT_DB_ALIAS) -> str:
    """The quoted column of ``model``'s field ``field``."""
    column = model._meta.get_field(field).column  # type: ignore[union-attr]
    assert column is not None
    return connections[db].ops.quote_name(column)


@cache
def column(model: type[Model], field: str, alias: str, db: str = DEFAULT_DB_ALIAS) -> str:
    """``alias.column`` for field ``field`` of ``model``, quoted."""
    return f"{connections[db].ops.quote_name(alias)}.{name(model, field, db)}"


def fetch(sql: str, params: Sequence[Any], db: str = DEFAULT_DB_ALIAS) -> list[tuple[Any, ...]]:
    """The rows of one SELECT (``%s`` placeholders, as Django's cursors take them)."""
    return _run(connections[db], sql, params, _all_rows)


def _all_rows(cursor: Any) -> list[tuple[Any, ...]]:
    return list(cursor.fetchall())


def _first_row(cursor: Any) -> Any:
    # Read to the end, not one row: SQLite ends (resets) a statement only once it is read
    # through, and an INSERT ... RETURNING left open would keep its write transaction open.
    rows = cursor.fetchall()
    return rows[0] if rows else None


def _nothing(cursor: Any) -> None:
    return None


# The driver's cursor each connection keeps for this module: (the DB-API connection it
# belongs to, the cursor), stored on Django's connection object (one per thread).
_KEPT = "_pawfile_sqlrows_cursor"


@async_unsafe
def _kept_cursor(connection: Any) -> Any | None:
    """The driver cursor this module runs its statements on, or ``None`` when Django's own
    cursor must run them because something watches the queries (``execute_wrapper``,
    ``CaptureQueriesContext``, ``assertNumQueries``, ``DEBUG``'s query log) or because the
    connection is shared between threads.

    Django wraps every statement in a new ``CursorWrapper`` and the driver's cursor in a new
    object too (psycopg builds its adapters for each one): some 15 µs on SQLite and 40 µs
    on PostgreSQL per statement, more than SQLite takes to answer the hot reads. The checks
    Django's cursor makes before a statement are made here too (health check of a reused
    connection, connecting, thread sharing, a transaction that must roll back), and errors
    are Django's (``wrap_database_errors``). A cursor is kept per connection: a connection
    Django reopens gets a new one. Every statement is read to its end before the next one.
    """
    if connection.execute_wrappers or connection.queries_logged or connection.allow_thread_sharing:
        # A connection shared between threads (the test server's in-memory SQLite) gets a new
        # cursor per statement: one driver cursor used by two threads at once can crash.
        return None
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    raw = connection.connection
    kept = connection.__dict__.get(_KEPT)
    if kept is None or kept[0] is not raw:
        with connection.wrap_database_errors:
            kept = (raw, connection.create_cursor())
        setattr(connection, _KEPT, kept)
    return kept[1]


@lru_cache(maxsize=256)
def _qmark(sql: str) -> str:
    """``sql`` with its ``%s`` placeholders as SQLite's ``?``, once per statement text: what
    the SQLite (and SQLCipher) cursor wrappers' ``convert_query`` does with a regular
    expression on every statement, tens of microseconds for a long one."""
    return FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")


def _run(connection: Any, sql: str, params: Sequence[Any], read: Callable[[Any], R]) -> R:
    """Execute one statement and ``read`` its result from the cursor."""
    cursor = _kept_cursor(connection)
    if cursor is None:
        with connection.cursor() as watched:
            watched.execute(sql, params)
            return read(watched)
    with connection.wrap_database_errors:
        if hasattr(cursor, "convert_query"):  # SQLite's wrapper: the driver's own execute
            super(type(cursor), cursor).execute(_qmark(sql), params)
        else:
            cursor.execute(sql, params)
        return read(cursor)


@dataclass(frozen=True)
class _InsertPlan:
    sql: str
    fields: tuple[Field[Any, Any], ...]
    returning: bool  # RETURNING gives the new id (SQLite 3.35+, PostgreSQL)
    pk_column: str
    # Per field, what ``_db_prep_save`` may do instead of calling ``get_db_prep_save``
    # (``_PREP_TEXT``, ``_PREP_DATE``, ``_PREP_DATETIME``; ``_PREP_CALL``: call it).
    prep: tuple[int, ...] = ()


_PREP_CALL, _PREP_TEXT, _PREP_DATE, _PREP_DATETIME = range(4)


def _prep_kind(field: Field[Any, Any]) -> int:
    """Django's own field classes (not subclasses, which may convert otherwise) whose
    ``get_db_prep_save`` reduces, for a value of one exact type, to a known step:

    * ``CharField``, ``TextField``: a ``str`` comes back as it is (the chain only resolves
      lazy text);
    * ``DateField``: a ``date`` goes to ``connection.ops.adapt_datefield_value``;
    * ``DateTimeField``: an aware ``datetime`` goes to ``adapt_datetimefield_value`` (a
      naive one is made aware, with a warning, by the field: left to it).
    """
    kind = type(field)
    if kind is models.CharField or kind is models.TextField:
        return _PREP_TEXT
    if kind is models.DateField:
        return _PREP_DATE
    if kind is models.DateTimeField:
        return _PREP_DATETIME
    return _PREP_CALL


def _db_prep_save(
    plan: _InsertPlan, values: Sequence[Any], connection: BaseDatabaseWrapper
) -> list[Any]:
    """Each field's ``get_db_prep_save(value, connection)``, with the step it reduces to
    taken directly where ``_prep_kind`` knows it (most columns of a health record): the
    same parameters, without four layers of calls per column."""
    ops = connection.ops
    out: list[Any] = []
    for field, kind, value in zip(plan.fields, plan.prep, values, strict=True):
        if kind == _PREP_TEXT and type(value) is str:
            out.append(value)
        elif kind == _PREP_DATE and type(value) is dt.date:
            out.append(ops.adapt_datefield_value(value))
        elif (
            kind == _PREP_DATETIME and type(value) is dt.datetime and value.utcoffset() is not None
        ):
            out.append(ops.adapt_datetimefield_value(value))
        else:
            out.append(field.get_db_prep_save(value, connection))
    return out


@cache
def _insert_plan(model: type[Model], db: str) -> _InsertPlan | None:
    """The INSERT of a new row of ``model``, or ``None`` for shapes ``Model.save()`` must
    handle itself (inheritance, ordering with respect to, composite or set-by-hand keys,
    columns the database computes)."""
    meta = model._meta
    auto = meta.auto_field
    if meta.parents or meta.order_with_respect_to or auto is None or meta.pk is not auto:
        return None
    if meta.db_returning_fields != [auto]:
        return None
    fields = tuple(f for f in meta.local_concrete_fields if not f.generated and f is not auto)
    names = [f.column for f in fields]
    if auto.column is None or None in names:
        return None
    connection = connections[db]
    quote = connection.ops.quote_name
    returning = connection.features.can_return_columns_from_insert
    sql = (  # names are quoted by the connection, values are parameters
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(str(n)) for n in names)})"  # noqa: S608
        f" VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if returning:
        sql += f" RETURNING {quote(auto.column)}"
    prep = tuple(_prep_kind(f) for f in fields)
    return _InsertPlan(sql, fields, returning, pk_column=auto.column, prep=prep)


# What ``save()`` runs to insert a row; a model that overrides any of them gets ``save()``.
_SAVE_STEPS = (
    "save",
    "save_base",
    "_prepare_related_fields_for_save",
    "_save_parents",
    "_save_table",
    "_do_insert",
)
_MODEL_SAVE_STEPS = tuple(getattr(Model, step) for step in _SAVE_STEPS)


def save_overridden(model: type[Model]) -> bool:
    """True when ``model`` (or a class it inherits from) overrides ``save()`` or a step
    under it. Checked on every call, not cached, so a method replaced at run time counts."""
    return any(
        getattr(model, step) is not base
        for step, base in zip(_SAVE_STEPS, _MODEL_SAVE_STEPS, strict=True)
    )


Statement = tuple[str, Sequence[Any]]


def insert(
    instance: Model,
    db: str = DEFAULT_DB_ALIAS,
    *,
    along: Statement | None = None,
    read: Statement | None = None,
) -> list[dict[str, Any]] | None:
    """Store a new ``instance`` (no primary key yet) with one INSERT; sets its id.

    ``along`` is one more writing statement (SQL, parameters; an UPDATE or DELETE) that must
    commit with the row or not at all. On PostgreSQL both go as one statement (the
    ``along`` statement in a data-modifying ``WITH``), which is atomic on its own: one round
    trip instead of BEGIN, INSERT, UPDATE, COMMIT. Elsewhere, and whenever ``save()`` is
    used, the two run in one transaction.

    ``read`` is a SELECT the caller would otherwise send right after the insert. On
    PostgreSQL it rides in the same statement (a ``WITH`` query, so it sees the database
    as it was just before the INSERT and ``along``: never the new row) and its rows come
    back as JSON objects, column name -> JSON value (numbers; dates and text as strings;
    ``null``), for the caller to convert: the list is returned, empty when no row matched.
    Elsewhere, and whenever ``save()`` is used, it is not run and ``None`` is returned: the
    caller reads as it would have.

    The same row ``instance.save()`` would write: every field's ``pre_save(add=True)``
    (``auto_now_add`` and ``auto_now`` stamps) and ``get_db_prep_save`` run, and the instance
    is then marked as stored, so a later ``save()`` updates it. Compiling that INSERT through
    the ORM costs more than running it; this builds it once per model. Falls back to
    ``save()`` whenever ``save()`` would do more: a model that overrides ``save()`` or a step
    under it (``save_overridden``), a model with ``pre_save``/``post_save`` receivers, a shape
    it handles itself (see ``_insert_plan``), or a value that is an expression. Call it inside
    the caller's transaction, as ``save()`` would be.
    """
    model = type(instance)
    plan = _insert_plan(model, db)
    connection = connections[db]
    values = None
    if (
        plan is not None
        and instance.pk is None
        and HAND_WRITTEN
        and not save_overridden(model)
        and not pre_save.has_listeners(model)
        and not post_save.has_listeners(model)
    ):
        values = [field.pre_save(instance, True) for field in plan.fields]
        if any(hasattr(value, "resolve_expression") for value in values):
            values = None
    if plan is None or values is None:
        with transaction.atomic(using=db) if along is not None else nullcontext():
            instance.save(using=db)
            _execute(connection, along)
        return None
    params = _db_prep_save(plan, values, connection)
    meta = model._meta
    sql = plan.sql
    rows: list[dict[str, Any]] | None = None
    folded = plan.returning and connection.vendor == "postgresql"
    if folded and (along is not None or read is not None):
        # The WITH queries run exactly once, in the INSERT's own snapshot and commit.
        withs: list[str] = []
        before: list[Any] = []
        if along is not None:
            withs.append(f"along AS ({along[0]})")
            before += along[1]
        if read is not None:
            withs.append(f"seen AS ({read[0]})")
            before += read[1]
            sql += ", (SELECT json_agg(seen) FROM seen)"
        sql, params = f"WITH {', '.join(withs)} {sql}", [*before, *params]
        along = None
    with transaction.atomic(using=db) if along is not None else nullcontext():
        if plan.returning:
            returned = _run(connection, sql, params, _first_row)
            new_id = returned[0]
            if folded and read is not None:
                rows = _json_rows(returned[1])
        else:

            def last_id(cursor: Any) -> Any:
                return connection.ops.last_insert_id(cursor, meta.db_table, plan.pk_column)

            new_id = _run(connection, sql, params, last_id)
        _execute(connection, along)
    setattr(instance, meta.pk.attname, new_id)
    instance._state.adding = False
    instance._state.db = db
    return rows


def _json_rows(value: Any) -> list[dict[str, Any]]:
    """``json_agg``'s answer as a list (``NULL`` for no rows; text if no loader parsed it)."""
    if value is None:
        return []
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return list(value)


def _execute(connection: Any, statement: Statement | None) -> None:
    if statement is not None:
        _run(connection, statement[0], statement[1], _nothing)


MAX_ID = 2**63 - 1


def is_id(value: object) -> bool:
    """True for an int that can be a primary key (a bigger one would overflow the driver)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def like_contains(value: str) -> str:
    """A LIKE pattern matching ``value`` anywhere, with ``%``, ``_`` and ``\\`` escaped
    (use with ``ESCAPE '\\'``)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
