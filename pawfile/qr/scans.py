"""Scans recorded without a database write in the request: a buffer flushed in batches.

The redirect layer appends one ``ScanEvent`` per answered scan to ``buffer`` (a ``deque``:
``append`` and ``popleft`` are atomic, so request threads take no lock). ``scan_buffer_flush``
— run by the redirect refresher every ``PAWFILE_QR_FLUSH_INTERVAL_MS`` and once more when the
process stops cleanly — takes what is there and writes it in one transaction: a ``Scan`` row
per event (``bulk_create``) and one ``UPDATE`` per code adding to ``scan_count`` and setting
``last_scan_at``. Scans of a code deleted meanwhile are dropped. If the database refuses, the
batch goes back to the front of the buffer and the next flush tries again; past
``MAX_BUFFERED`` events the oldest are dropped (and logged) rather than exhausting memory.

What is derived from the request happens here, off the hot path: the device, OS and
browser families from the user agent (``ua-parser``; the buffer keeps the raw agent, cut to
``UA_MAX`` characters, and it is never stored), the bot flag (ua-parser's ``Spider`` device or
a crawler pattern), the referrer's host, the country when a local MaxMind database is
configured (``PAWFILE_GEOIP_PATH``), and ``visitor``: a hash of the client address
(trusted-proxy aware, ``lib.clientip``), the day and the secret key, so unique visitors
per day can be counted while no address is stored. Each flush also adds what it wrote to
the Prometheus counter ``pawfile_qr_scans_total{kind}`` (``genuine``, ``typed``, ``bot``, and
``unknown_id`` for hits on ids that do not exist, which the redirect layer only counts).
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import hashlib
import itertools
import logging
import re
import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit

import maxminddb
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.http import HttpRequest

from pawfile.lib.clientip import client_ip
from pawfile.ops.metrics import qr_scans_observe
from pawfile.qr import hooks
from pawfile.qr.models import QRCode, Scan, ScanDay

log = logging.getLogger(__name__)

MAX_BATCH = 2000
# The table name is the model's own; the values are parameters.
INSERT = (
    f"INSERT INTO {Scan._meta.db_table} "  # noqa: S608
    "(code_id, at, genuine, bot, referrer_host, visitor, device, os, browser, country) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
UA_MAX = 300
FAMILY_MAX = 64
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
unknown_hits = itertools.count()  # next() is atomic: the redirect layer counts 404s here
_unknown_reported = 0


@dataclass(frozen=True, slots=True)
class Agent:
    device: str
    os: str
    browser: str
    bot: bool


def _family(part: Any) -> str:
    family = getattr(part, "family", "") or ""
    return "" if family == "Other" else family[:FAMILY_MAX]


def agent_parser_warm() -> None:
    """Import ua-parser and compile its rules (0.5–2 s of one core, once per process), so
    that the first flush does not hold up the redirect's refresher that long. The redirect
    layer runs this in a thread of its own when it starts."""
    try:
        agent_parse("pawfile-warm-up")  # matches no rule: every rule gets compiled
    except Exception:
        log.warning("qr scans: the user agent parser failed to load", exc_info=True)


@functools.lru_cache(maxsize=4096)
def agent_parse(user_agent: str) -> Agent:
    """Device, OS and browser families of ``user_agent`` ("" when unknown) and whether it
    is a bot: ua-parser says ``Spider``, or it matches a crawler or HTTP-library pattern,
    or it is empty."""
    if not user_agent:
        return Agent("", "", "", True)
    import ua_parser  # not at start-up: importing it takes about half a second

    result = ua_parser.parse(user_agent)
    device = _family(result.device)
    bot = device == "Spider" or bool(_BOT.search(user_agent))
    return Agent(device, _family(result.os), _family(result.user_agent), bot)


def scan_record(meta: dict[str, Any], code_id: str, at: float, genuine: bool) -> None:
    """Append one scan (called by the redirect layer; no I/O)."""
    buffer.append(
        ScanEvent(
            code_id,
            at,
            genuine,
            meta.get("HTTP_USER_AGENT", "")[:UA_MAX],
            meta.get("HTTP_REFERER", "")[:512],
            meta.get("REMOTE_ADDR", ""),
            meta.get("HTTP_X_FORWARDED_FOR", "")[:512],
        )
    )


def pending_by_code() -> collections.Counter[str]:
    """Scans buffered but not yet written, per code."""
    return collections.Counter(event.code_id for event in list(buffer))


def _address(event: ScanEvent) -> str:
    request = SimpleNamespace(
        META={"REMOTE_ADDR": event.remote_addr, "HTTP_X_FORWARDED_FOR": event.forwarded_for}
    )
    return client_ip(cast(HttpRequest, request))


_geoip: dict[str, maxminddb.Reader | None] = {}  # None: the file could not be read


def country_of(address: str) -> str:
    """The ISO country code of ``address`` from the MaxMind database at
    ``PAWFILE_GEOIP_PATH`` (GeoLite2/GeoIP2 Country or City, read locally, never over the
    network); "" without a database, for an unknown address, or if the file is unreadable."""
    path = settings.PAWFILE_GEOIP_PATH
    if not path or not address:
        return ""
    if path not in _geoip:
        try:
            _geoip[path] = maxminddb.open_database(path)
        except (OSError, ValueError):
            log.warning("qr scans: GeoIP database %s cannot be read", path, exc_info=True)
            _geoip[path] = None
    reader = _geoip[path]
    if reader is None:
        return ""
    try:
        found = reader.get(address)
    except ValueError:
        return ""
    country = found.get("country") if isinstance(found, dict) else None
    code = country.get("iso_code") if isinstance(country, dict) else None
    return code.upper() if isinstance(code, str) and len(code) == 2 else ""


def _visitor(address: str, day: dt.date) -> str:
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
    hosts: dict[str, str] = {}
    visitors: dict[tuple[str, str, dt.date], tuple[str, str]] = {}
    rows = []
    for index, event in enumerate(events):
        if index and not index % YIELD_EVERY:
            time.sleep(0)  # let request threads have the GIL between slices of the batch
        if event.code_id not in live:
            continue
        at = dt.datetime.fromtimestamp(event.at, tz=dt.UTC)
        agent = agent_parse(event.user_agent)
        host = hosts.get(event.referrer)
        if host is None:
            host = hosts[event.referrer] = _referrer_host(event.referrer)
        key = (event.remote_addr, event.forwarded_for, at.date())
        found = visitors.get(key)
        if found is None:
            address = _address(event)
            found = visitors[key] = (_visitor(address, key[2]), country_of(address))
        visitor, country = found
        rows.append(
            (
                event.code_id,
                at,
                adapt(at),
                event.genuine,
                agent.bot,
                host,
                visitor,
                agent.device,
                agent.os,
                agent.browser,
                country,
            )
        )
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
    kinds = collections.Counter(
        "bot" if row[4] else "genuine" if row[3] else "typed" for row in rows
    )
    transaction.on_commit(lambda: _metrics_add(kinds))
    if hooks.has_receivers():  # the apps above told of the batch once it is committed
        recorded = [hooks.RecordedScan(row[0], row[1], row[4]) for row in rows]
        transaction.on_commit(lambda: hooks.scans_recorded_send(recorded))
    return len(rows)


def _metrics_add(kinds: collections.Counter[str]) -> None:
    for kind, count in kinds.items():
        qr_scans_observe(kind, count)


def _unknown_report() -> None:
    global _unknown_reported
    seen = next(unknown_hits)  # this draw counts one too many: subtract it below
    new = seen - _unknown_reported
    _unknown_reported = seen + 1
    if new > 0:
        qr_scans_observe("unknown_id", new)


def scan_buffer_flush() -> int:
    """Write every buffered scan; returns how many rows were written. A failure puts the
    batch back (the exception is logged, not raised: the caller is a loop or ``atexit``)."""
    written = 0
    with _flush_lock:
        _unknown_report()
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


def scan_retention_run(*, now: dt.datetime | None = None) -> int:
    """Fold the scans older than ``PAWFILE_SCAN_RETENTION_DAYS`` (whole UTC days) into
    ``ScanDay`` rows (total, genuine, unique visitors per code and day) and delete them, one
    day per transaction. A day summarised before (scans flushed late) is added to. Returns
    how many scans were folded."""
    now = now or dt.datetime.now(tz=dt.UTC)
    cutoff_day = (
        (now - dt.timedelta(days=settings.PAWFILE_SCAN_RETENTION_DAYS)).astimezone(dt.UTC).date()
    )
    cutoff = dt.datetime.combine(cutoff_day, dt.time.min, tzinfo=dt.UTC)
    folded = 0
    while True:
        oldest = Scan.objects.filter(at__lt=cutoff).order_by("at").values_list("at", flat=True)
        first = oldest.first()
        if first is None:
            return folded
        day = first.astimezone(dt.UTC).date()
        start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        end = min(start + dt.timedelta(days=1), cutoff)
        with transaction.atomic():
            scans = Scan.objects.filter(at__gte=start, at__lt=end)
            groups = scans.values("code_id").annotate(
                total=Count("id"),
                genuine=Count("id", filter=Q(genuine=True, bot=False)),
                unique=Count("visitor", distinct=True),
            )
            existing = {
                row.code_id: row
                for row in ScanDay.objects.select_for_update().filter(
                    day=day, code_id__in=[g["code_id"] for g in groups]
                )
            }
            new, changed = [], []
            for group in groups:
                row = existing.get(group["code_id"])
                if row is None:
                    new.append(ScanDay(code_id=group["code_id"], day=day))
                    row = new[-1]
                else:
                    changed.append(row)
                row.total += group["total"]
                row.genuine += group["genuine"]
                row.unique += group["unique"]
            ScanDay.objects.bulk_create(new)
            ScanDay.objects.bulk_update(changed, ["total", "genuine", "unique"])
            deleted, _ = scans.delete()
            folded += deleted
