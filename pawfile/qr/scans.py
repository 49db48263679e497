"""Scans recorded without a database write in the request: a buffer flushed in batches.

The redirect layer appends one ``ScanEvent`` per answered scan to ``buffer`` (a ``deque``:
``append`` and ``popleft`` are atomic, so request threads take no lock). ``scan_buffer_flush``
— run by the redirect refresher every ``PAWFILE_QR_FLUSH_INTERVAL_MS`` and once more when the
process stops cleanly — takes what is there and writes it in one transaction: a ``Scan`` row
per event (``bulk_create``) and one ``UPDATE`` per code adding to ``scan_count`` and setting
``last_scan_at``. Scans of a code deleted meanwhile are dropped. If the database refuses, the
batch goes back to the front of the buffer and the next flush tries again; past
``MAX_BUFFERED`` events the oldest are dropped (and logged) rather than exhausting memory.

What is derived from the request happens here, off the hot path: the bot flag from the user
agent, the referrer's host, and ``visitor``: a hash of the client address (trusted-proxy
aware, ``lib.clientip``), the day and the secret key, so unique visitors per day can be
counted while no address is stored.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.http import HttpRequest

from pawfile.lib.clientip import client_ip
from pawfile.qr.models import QRCode, Scan

log = logging.getLogger(__name__)

MAX_BATCH = 2000
# The table name is the model's own; the values are parameters.
INSERT = (
    f"INSERT INTO {Scan._meta.db_table} (code_id, at, genuine, bot, referrer_host, visitor) "  # noqa: S608
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
MAX_BUFFERED = 200_000
YIELD_EVERY = 200
_BOT = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|embedly|curl|wget|python-|httpx|"
    r"go-http-client|java/|okhttp|headless",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ScanEvent:
    code_id: str
    at: float  # epoch seconds
    genuine: bool
    user_agent: str
    referrer: str
    remote_addr: str
    forwarded_for: str


buffer: collections.deque[ScanEvent] = collections.deque()
_flush_lock = threading.Lock()


def scan_record(meta: dict[str, Any], code_id: str, at: float, genuine: bool) -> None:
    """Append one scan (called by the redirect layer; no I/O)."""
    buffer.append(
        ScanEvent(
            code_id,
            at,
            genuine,
            meta.get("HTTP_USER_AGENT", "")[:512],
            meta.get("HTTP_REFERER", "")[:512],
            meta.get("REMOTE_ADDR", ""),
            meta.get("HTTP_X_FORWARDED_FOR", "")[:512],
        )
    )


def pending_by_code() -> collections.Counter[str]:
    """Scans buffered but not yet written, per code."""
    return collections.Counter(event.code_id for event in list(buffer))


def _visitor(event: ScanEvent, day: dt.date) -> str:
    request = SimpleNamespace(
        META={"REMOTE_ADDR": event.remote_addr, "HTTP_X_FORWARDED_FOR": event.forwarded_for}
    )
    address = client_ip(cast(HttpRequest, request))
    salt = f"{settings.SECRET_KEY}:qr-visitor:{day.isoformat()}"
    return hashlib.sha256(f"{salt}:{address}".encode()).hexdigest()[:16]


def _referrer_host(referrer: str) -> str:
    try:
        return (urlsplit(referrer).hostname or "")[:255]
    except ValueError:
        return ""


def _rows(events: list[ScanEvent], live: set[str]) -> list[tuple[Any, ...]]:
    """One row per event of a live code. What repeats (an agent, a referrer, a client on a
    day) is worked out once per batch."""
    adapt = connection.ops.adapt_datetimefield_value
    bots: dict[str, bool] = {}
    hosts: dict[str, str] = {}
    visitors: dict[tuple[str, str, dt.date], str] = {}
    rows = []
    for index, event in enumerate(events):
        if index and not index % YIELD_EVERY:
            time.sleep(0)  # let request threads have the GIL between slices of the batch
        if event.code_id not in live:
            continue
        at = dt.datetime.fromtimestamp(event.at, tz=dt.UTC)
        bot = bots.get(event.user_agent)
        if bot is None:
            bot = bots[event.user_agent] = not event.user_agent or bool(
                _BOT.search(event.user_agent)
            )
        host = hosts.get(event.referrer)
        if host is None:
            host = hosts[event.referrer] = _referrer_host(event.referrer)
        key = (event.remote_addr, event.forwarded_for, at.date())
        visitor = visitors.get(key)
        if visitor is None:
            visitor = visitors[key] = _visitor(event, key[2])
        rows.append((event.code_id, at, adapt(at), event.genuine, bot, host, visitor))
    return rows


def _write(events: list[ScanEvent]) -> int:
    # Plain tuples and one executemany: building thousands of model instances per second
    # (and the garbage they leave) paused the request threads of the same process for
    # hundreds of milliseconds (p99 291 ms in bench/redirect.py).
    ids = {event.code_id for event in events}
    with transaction.atomic():
        live = set(QRCode.objects.filter(pk__in=ids).values_list("pk", flat=True))
        rows = _rows(events, live)
        with connection.cursor() as cursor:
            cursor.executemany(INSERT, [(row[0], *row[2:]) for row in rows])
        per_code: dict[str, tuple[int, dt.datetime]] = {}
        for row in rows:
            count, last = per_code.get(row[0], (0, row[1]))
            per_code[row[0]] = (count + 1, max(last, row[1]))
        for code_id, (count, last) in per_code.items():
            QRCode.objects.filter(pk=code_id).update(
                scan_count=F("scan_count") + count, last_scan_at=last
            )
    return len(rows)


def scan_buffer_flush() -> int:
    """Write every buffered scan; returns how many rows were written. A failure puts the
    batch back (the exception is logged, not raised: the caller is a loop or ``atexit``)."""
    written = 0
    with _flush_lock:
        while buffer:
            events: list[ScanEvent] = []
            while buffer and len(events) < MAX_BATCH:
                events.append(buffer.popleft())
            try:
                written += _write(events)
            except Exception:
                log.exception("qr scans: flush failed, %d scans kept for the next try", len(events))
                buffer.extendleft(reversed(events))
                overflow = len(buffer) - MAX_BUFFERED
                if overflow > 0:
                    for _ in range(overflow):
                        buffer.popleft()
                    log.error("qr scans: buffer full, %d oldest scans dropped", overflow)
                break
    return written
