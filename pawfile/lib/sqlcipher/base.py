"""Django's SQLite backend on SQLCipher (``sqlcipher3``): every connection is given the key
first, then Django's and the settings' pragmas (WAL, foreign keys, busy timeout...).

Django's backend is bound to the standard ``sqlite3`` module in three places, each redone
here for ``sqlcipher3``: the module itself (``Database``: its exceptions and connect), the
type converters and adapters registered on the module, and the cursor class (Django's
``SQLiteCursorWrapper`` subclasses ``sqlite3.Cursor``; a ``sqlcipher3`` connection needs a
``sqlcipher3.Cursor``). The rest (operations, schema editor, introspection) is SQLite's.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping
from itertools import tee
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.sqlite3 import base as sqlite_base
from django.db.backends.sqlite3._functions import register as register_functions
from django.utils.dateparse import parse_date, parse_datetime, parse_time
from sqlcipher3 import dbapi2 as Database

from pawfile.lib.sqlcipher import key_pragma

# The same conversions Django registers on the standard module (sqlite3/base.py).
Database.register_converter("bool", b"1".__eq__)
Database.register_converter("date", sqlite_base.decoder(parse_date))
Database.register_converter("time", sqlite_base.decoder(parse_time))
Database.register_converter("datetime", sqlite_base.decoder(parse_datetime))
Database.register_converter("timestamp", sqlite_base.decoder(parse_datetime))
Database.register_adapter(decimal.Decimal, str)
Database.register_adapter(datetime.date, sqlite_base.adapt_date)
Database.register_adapter(datetime.datetime, sqlite_base.adapt_datetime)


class SQLCipherCursorWrapper(Database.Cursor):
    """Django's ``SQLiteCursorWrapper`` ("format"/"pyformat" to "qmark"/"named" styles) on a
    ``sqlcipher3`` cursor."""

    def execute(self, query: str, params: Any = None) -> Any:
        if params is None:
            return super().execute(query)
        param_names = list(params) if isinstance(params, Mapping) else None
        query = self.convert_query(query, param_names=param_names)
        return super().execute(query, params)

    def executemany(self, query: str, param_list: Any) -> Any:
        peekable, param_list = tee(iter(param_list))
        if (params := next(peekable, None)) and isinstance(params, Mapping):
            param_names = list(params)
        else:
            param_names = None
        query = self.convert_query(query, param_names=param_names)
        return super().executemany(query, param_list)

    def convert_query(self, query: str, *, param_names: list[str] | None = None) -> str:
        if param_names is None:
            return sqlite_base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")
        return query % {name: f":{name}" for name in param_names}


class DatabaseWrapper(sqlite_base.DatabaseWrapper):
    """SQLite with ``OPTIONS["key"]`` (the passphrase) sent before any other statement."""

    display_name = "SQLCipher"
    Database = Database

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        self._cipher_key = str(params.pop("key", "") or "")
        if not self._cipher_key:
            raise ImproperlyConfigured(
                "The SQLCipher database backend needs DATABASES['default']['OPTIONS']['key'] "
                "(set PAWFILE_DB_KEY)."
            )
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        conn = Database.connect(**conn_params)
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(key_pragma(self._cipher_key))
        register_functions(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA legacy_alter_table = OFF")
        for init_command in self.init_commands:  # type: ignore[attr-defined]
            if init_command := init_command.strip():
                conn.execute(init_command)
        return conn

    def create_cursor(self, name: str | None = None) -> Any:
        return self.connection.cursor(factory=SQLCipherCursorWrapper)
