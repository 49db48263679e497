"""``lib.postgres``: the health check of a reused connection sends nothing to PostgreSQL, and
still finds a connection the server ended, which is then replaced before the request uses it.

Runs in the PostgreSQL + Redis pass of the suite (``-m services``), on the real server: the
connection is ended from another session with ``pg_terminate_backend``.
"""

from __future__ import annotations

import datetime as dt
import time

import psycopg
import pytest
from django.db import connection, connections
from psycopg.pq import Format

from pawfile.accounts.models import User

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres() -> None:
    if type(connections["default"]).__module__ != "pawfile.lib.postgres.base":
        pytest.fail("needs DATABASE_URL (PostgreSQL): the engine is pawfile.lib.postgres")


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _terminate(pid: int) -> None:
    """End the server process ``pid`` from a session of its own, as a restart would."""
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def _request_starts() -> None:
    """What Django does between two requests on a persistent connection (the suite's
    settings close every connection after its request; the site's keep it 60 s)."""
    connection.health_check_enabled = True
    connection.close_at = time.monotonic() + 60
    connection.close_if_unusable_or_obsolete()


def test_the_check_of_a_healthy_connection_sends_nothing(monkeypatch) -> None:
    _backend_pid()
    raw = connection.connection

    def no_query(*args, **kwargs):
        raise AssertionError("the health check sent a query")

    monkeypatch.setattr(raw, "cursor", no_query)
    monkeypatch.setattr(raw, "execute", no_query)

    assert connection.is_usable()


def test_a_healthy_connection_is_kept_across_requests() -> None:
    pid = _backend_pid()
    _request_starts()

    assert User.objects.count() == 0
    assert _backend_pid() == pid


def test_a_connection_the_server_ended_is_replaced_before_the_query() -> None:
    pid = _backend_pid()
    _terminate(pid)
    deadline = time.monotonic() + 5  # the server's farewell reaches the socket
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    _request_starts()

    assert User.objects.count() == 0  # on a new connection, not an error
    assert _backend_pid() != pid


def test_a_closed_or_failed_connection_is_not_usable() -> None:
    _backend_pid()
    raw = connection.connection
    with pytest.raises(psycopg.errors.DivisionByZero):
        raw.execute("BEGIN")
        raw.execute("SELECT 1 / 0")
    assert not connection.is_usable()  # a failed transaction is never reused
    raw.rollback()
    assert connection.is_usable()

    connection.close()
    assert not connection.is_usable()


def test_timestamps_come_back_through_psycopg_s_own_loader_in_utc() -> None:
    oid = psycopg.adapters.types["timestamptz"].oid
    stamped = dt.datetime(2026, 3, 29, 1, 30, 15, 250000, tzinfo=dt.UTC)
    user = User.objects.create_user(email="stamp@example.org", password="x" * 12)
    User.objects.filter(pk=user.pk).update(last_login=stamped)

    read = User.objects.get(pk=user.pk).last_login
    walked = [u.last_login for u in User.objects.filter(pk=user.pk).iterator(chunk_size=1)]

    loader = connection.connection.adapters.get_loader(oid, Format.TEXT)
    assert loader is psycopg.adapters.get_loader(oid, Format.TEXT)  # not Django's subclass
    assert read == stamped and read.tzinfo is dt.UTC
    assert walked == [stamped] and walked[0].tzinfo is dt.UTC  # a named (server-side) cursor


def test_hot_queries_are_prepared_once_per_connection() -> None:
    for _ in range(8):  # psycopg prepares a statement after its fifth run on a connection
        assert not User.objects.filter(email="nobody@example.org").exists()

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("nobody" not in sql and "accounts_user" in sql for sql in prepared), prepared
