"""The flush's own write of the scan rows (one ``COPY`` of text lines on PostgreSQL, multi-row
INSERTs on SQLite, booleans bound as 1/0) stores exactly what the ORM stores for the same
scans: the rows it wrote are read back, replaced by the ORM's ``bulk_create`` of the same
values worked out one event at a time (the slow path), and read back again. Values with the
characters ``COPY`` text escapes (tab, newline, carriage return, backslash, a literal ``\\N``)
arrive as they were. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from pawfile.lib import rowsinsert
from pawfile.qr import scans, services
from pawfile.qr.models import QRCode, Scan

FIELDS = (
    "code_id", "at", "genuine", "bot", "referrer_host", "visitor", "device", "os", "browser",
    "country",
)  # fmt: skip
PARSE = scans.agent_parse  # the real one (the test puts its own in its place)
ODD = scans.Agent(device="Pho\tne", os="i\\OS\n17", browser="Sa\rfari \\N", bot=False)


def _agent(user_agent: str) -> scans.Agent:
    if user_agent == "odd":
        return ODD
    return PARSE(user_agent)


def _stored() -> list[tuple[Any, ...]]:
    return sorted(Scan.objects.values_list(*FIELDS), key=repr)


def _slow_path(events: list[scans.Event]) -> list[Scan]:
    """The rows of ``events`` as model instances, each worked out on its own."""
    made = []
    for event in map(lambda e: scans.ScanEvent(*e), events):
        agent = scans.agent_parse(event.user_agent)
        address = scans._address(event.remote_addr, event.forwarded_for)
        at = dt.datetime.fromtimestamp(event.at, tz=dt.UTC)
        made.append(
            Scan(
                code_id=event.code_id,
                at=at,
                genuine=event.genuine,
                bot=agent.bot,
                referrer_host=scans._referrer_host(event.referrer),
                visitor=scans._visitor(address, at.date()),
                device=agent.device,
                os=agent.os,
                browser=agent.browser,
                country=scans.country_of(address),
            )
        )
    return made


def test_the_flush_stores_what_the_orm_stores(manager, code, monkeypatch) -> None:
    monkeypatch.setattr(scans, "agent_parse", _agent)
    # Small statements on SQLite, so a batch of 37 takes many, of several sizes.
    monkeypatch.setattr(rowsinsert, "SQLITE_ROWS_MOST", 4)
    other = services.code_create(actor=manager, title="Other", target_url="https://b.example/")
    base = 1_800_000_000  # whole seconds since the epoch (2027-01-15)
    agents = ["odd", "", "Googlebot/2.1", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"]
    referrers = ["", "https://back\\slash.example/x", "https://ref.example/p"]
    for i in range(37):
        meta = {
            "HTTP_USER_AGENT": agents[i % len(agents)],
            "HTTP_REFERER": referrers[i % len(referrers)],
            "REMOTE_ADDR": f"203.0.113.{i % 5}",
        }
        at = base + i * 0.25 + (0.000001 if i % 7 == 0 else 0.0) + (86_400 if i > 30 else 0)
        scans.scan_record(meta, code.id if i % 3 else other.id, at, i % 2 == 0)
    events = list(scans.buffer)
    assert scans.scan_buffer_flush() == 37
    fast = _stored()
    assert len(fast) == 37
    assert {row[6] for row in fast} >= {ODD.device}  # the odd values were written
    with transaction.atomic():
        Scan.objects.all().delete()
        Scan.objects.bulk_create(_slow_path(events))
    assert _stored() == fast
    counts = dict(QRCode.objects.filter(pk__in=[code.id, other.id]).values_list("pk", "scan_count"))
    assert counts == {code.id: 24, other.id: 13}


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_values_insert_statement_sizes_and_watched_path(code) -> None:
    """``rowsinsert.sqlite_values_insert``: the sizes of its statements add up to the rows,
    none above the most, the rest in powers of two; through Django's cursor (queries
    watched) and the driver's own (not watched) the rows are the same; a length that is
    not whole rows is refused."""
    for rows in (0, 1, 3, 7, 512, 513, 1000, 2000):
        sizes = list(rowsinsert._sizes(rows, 512))
        assert sum(sizes) == rows and all(0 < size <= 512 for size in sizes)
        tail = sizes[rows // 512 :]
        assert all(size & (size - 1) == 0 for size in tail)  # powers of two
        assert tail == sorted(tail, reverse=True) and len(set(tail)) == len(tail)
    at = "2027-01-15 08:00:00.000001"

    def values(n: int, genuine: int) -> list[Any]:
        return [code.id, at, genuine, 0, "h", "v", "d", "o", "b", "ES"] * n

    with transaction.atomic(), connection.cursor() as cursor:
        assert rowsinsert.sqlite_values_insert(cursor, scans.INSERT_HEAD, 10, values(5, 1)) == 5
        with CaptureQueriesContext(connection) as queries, connection.cursor() as watched:
            rowsinsert.sqlite_values_insert(watched, scans.INSERT_HEAD, 10, values(5, 0))
        assert len(queries.captured_queries) == 2  # 4 rows, then 1
        with pytest.raises(ValueError):
            rowsinsert.sqlite_values_insert(cursor, scans.INSERT_HEAD, 10, values(1, 0)[:-1])
    stored = Scan.objects.values_list(*FIELDS[2:])
    assert (
        sorted(stored)
        == [(False, False, "h", "v", "d", "o", "b", "ES")] * 5
        + [(True, False, "h", "v", "d", "o", "b", "ES")] * 5
    )
