"""Django's PostgreSQL backend with a connection health check that costs no round trip, and
psycopg's own timestamp loader.

With persistent connections (``CONN_MAX_AGE``) and ``CONN_HEALTH_CHECKS``, Django checks a
reused connection at the start of every request that touches the database; its check is a
``SELECT 1``, one more round trip on every API call (on the hot paths, a third of them).

``is_usable`` here asks the connection instead: psycopg knows whether it is closed or
broken and in which transaction state it is, and a connection the server ended (a restart,
``pg_terminate_backend``, an idle timeout, a pooler going away) has something to read on
its socket, the server's farewell message or the end of the stream, while a healthy idle
connection has nothing. One ``poll()`` with no wait finds that. A connection it refuses is
closed and a new one opened, as after a failed ``SELECT 1``.

What neither check can see in advance (a network that drops packets without a word) fails
the query that meets it, as it would fail ``SELECT 1``; Django then closes the connection
at the end of that request.

Timestamps: Django reads every ``timestamptz`` through a Python subclass of psycopg's Python
loader, which parses the text with a regular expression and then replaces the zone; about
5 µs a value, 42 values in a page of 20 pets. With ``USE_TZ`` and the database in UTC (the
connection's ``TimeZone`` is set to UTC by Django at connect), psycopg's native loader (C in
the binary build) returns the very same values, aware, in ``datetime.timezone.utc``, for a
tenth of the CPU. The connection gets that loader; a cursor whose connection is in another
zone gets Django's, as Django does it.
"""

from __future__ import annotations

import datetime as dt
import select
from functools import cache
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import get_adapters_template, register_tzloader
from psycopg.adapt import AdaptersMap
from psycopg.pq import Format, TransactionStatus

# Between requests the connection idles in autocommit; anything else is not to be reused.
REUSABLE = (TransactionStatus.IDLE, TransactionStatus.INTRANS)
UNREAD = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


TIMESTAMPTZ = "timestamptz"


@cache
def _utc_adapters() -> AdaptersMap:
    """Django's adapters for ``USE_TZ`` in UTC, with psycopg's own ``timestamptz`` loader."""
    context = AdaptersMap(get_adapters_template(True, dt.UTC))
    loader = psycopg.adapters.get_loader(psycopg.adapters.types[TIMESTAMPTZ].oid, Format.TEXT)
    assert loader is not None  # psycopg always has one
    context.register_loader(TIMESTAMPTZ, loader)
    return context


class DatabaseWrapper(base.DatabaseWrapper):
    native_timestamps = False  # this connection has psycopg's own timestamptz loader

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        self.native_timestamps = bool(settings.USE_TZ and self.timezone == dt.UTC)
        if self.native_timestamps:
            params["context"] = _utc_adapters()
        return params

    def create_cursor(self, name: str | None = None) -> Any:
        """Django's cursor; with psycopg's loader on the connection, Django's check of the
        loader's zone (which that loader cannot answer) is made on the connection's zone."""
        if not self.native_timestamps:
            return super().create_cursor(name)
        connection = self.connection
        if not name:
            cursor = connection.cursor()
        elif self.settings_dict["OPTIONS"].get("server_side_binding") is not True:
            cursor = base.ServerSideCursor(  # type: ignore[call-arg]  # stubs lack psycopg 3's
                connection, name=name, scrollable=False, withhold=connection.autocommit
            )
        else:
            cursor = connection.cursor(name, scrollable=False, withhold=connection.autocommit)
        if connection.info.timezone is not dt.UTC:
            register_tzloader(self.timezone, cursor)
        return cursor

    def is_usable(self) -> bool:
        """True when the open connection can take a query: not closed or broken, in no
        failed or unknown transaction, and nothing unread on its socket (see above)."""
        connection = self.connection
        if not hasattr(select, "poll"):  # no poll() on this platform: Django's SELECT 1
            return bool(super().is_usable())
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status not in REUSABLE:
            return False
        try:
            poller = select.poll()
            poller.register(connection.fileno(), UNREAD)
            return not poller.poll(0)
        except (OSError, ValueError, psycopg.Error):
            return False
