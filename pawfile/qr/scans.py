"""Scans recorded without a database write in the request: a buffer flushed in batches.

The redirect layer appends one event per answered scan to ``buffer`` (a ``deque``:
``append`` and ``popleft`` are atomic, so request threads take no lock): a plain tuple of
``ScanEvent``'s fields. ``scan_buffer_flush`` — run by the redirect refresher every
``PAWFILE_QR_FLUSH_INTERVAL_MS`` and once more when the process stops cleanly — takes what is
there and writes it, ``MAX_BATCH`` events a transaction: a ``Scan`` row per event (one
``COPY`` of text lines on PostgreSQL, multi-row INSERTs of up to 512 rows on SQLite; the
instant as the text the database stores) and one statement adding to the codes'
``scan_count`` and setting ``last_scan_at``. Scans of a
code deleted meanwhile are dropped. If the database refuses, the
batch goes back to the front of the buffer and the next flush tries again; past
``MAX_BUFFERED`` events the oldest are dropped (and logged) rather than exhausting memory.

What is derived from the request happens here, off the hot path: the device, OS and
browser families from the user agent (``ua-parser``; the buffer keeps the raw agent, cut to
``UA_MAX`` characters, and it is never stored), the bot flag (ua-parser's ``Spider`` device or
a crawler pattern), the referrer's host, the country when a local MaxMind database is
configured (``PAWFILE_GEOIP_PATH``), and ``visitor``: a hash of the client address
(trusted-proxy aware, ``lib.clientip``), the day and the secret key, so unique visitors
per day can be counted while no address is stored. Each flush also adds what it wrote to
the Prometheus counter ``pawfile_qr_scans_total{kind}`` (``genuine``, ``typed``, ``bot``,
``own`` for the scans left out below, and ``unknown_id`` for hits on ids that do not exist,
which the redirect layer only counts).

The owner's own scans are not written: the event keeps the session cookie's value, and the
flush leaves out the scans of a code by a signed-in member of its household or the owner of
a generic code (``ownscans.py``; two queries, only for a batch that holds a session cookie).
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import hashlib
import itertools
import logging
import operator
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

import maxminddb
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.http.cookie import parse_cookie

from pawfile.lib.clientip import client_ip
from pawfile.lib.rowsinsert import sqlite_values_insert
from pawfile.lib.stopsignal import stopping
from pawfile.ops.metrics import qr_scans_observe
from pawfile.qr import hooks
from pawfile.qr.models import QRCode, Scan, ScanDay
from pawfile.qr.ownscans import SESSION_MAX, OwnScans

log = logging.getLogger(__name__)

MAX_BATCH = 2000
COLUMNS = "code_id, at, genuine, bot, referrer_host, visitor, device, os, browser, country"
# The table names are the models' own; the values are parameters.
WIDTH = len(COLUMNS.split(", "))
INSERT_HEAD = f"INSERT INTO {Scan._meta.db_table} ({COLUMNS})"  # SQLite: VALUES follow
COPY = f"COPY {Scan._meta.db_table} ({COLUMNS}) FROM STDIN"
COUNT_ADD = (
    f"UPDATE {QRCode._meta.db_table} "  # noqa: S608
    "SET scan_count = scan_count + %s, last_scan_at = %s WHERE id = %s"
)
COUNT_ADD_MANY = (  # PostgreSQL: every code of a batch in one statement
    f"UPDATE {QRCode._meta.db_table} AS c "  # noqa: S608
    "SET scan_count = c.scan_count + v.n, last_scan_at = v.last "
    "FROM unnest(%s::text[], %s::bigint[], %s::timestamptz[]) AS v(id, n, last) "
    "WHERE c.id = v.id"
)
UA_MAX = 300
FAMILY_MAX = 64
MAX_BUFFERED = 200_000
YIELD_EVERY = 200
PACE_RATIO = 3.0  # a paced flush sleeps 3x its processor time: a quarter of a core at most
_BOT = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|embedly|curl|wget|python-|httpx|"
    r"go-http-client|java/|okhttp|headless",
    re.IGNORECASE,
)


class ScanEvent(NamedTuple):
    """The fields of a buffered scan. The buffer holds plain tuples in this order (a tuple
    costs a request far less than any class); ``ScanEvent(*event)`` names them."""

    code_id: str
    at: float  # epoch seconds
    genuine: bool
    user_agent: str
    referrer: str
    remote_addr: str
    forwarded_for: str
    session: str = ""  # the session cookie's value, "" without one (ownscans.py)


Event = tuple[str, float, bool, str, str, str, str, str]  # a ScanEvent's fields
buffer: collections.deque[Event] = collections.deque()
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


@functools.cache
def _session_cookie() -> str:
    return str(settings.SESSION_COOKIE_NAME)


def _session_of(cookies: str) -> str:
    """The session cookie's value in a ``Cookie`` header ("" without one)."""
    name = _session_cookie()
    if name not in cookies:
        return ""
    return parse_cookie(cookies).get(name, "")[:SESSION_MAX]


_AGENT_CUT, _HEADER_CUT = slice(UA_MAX), slice(512)  # made once, not per request


def scan_record(
    meta: dict[str, Any],
    code_id: str,
    at: float,
    genuine: bool,
    _append: Callable[[Event], None] = buffer.append,
) -> None:
    """Append one scan (called by the redirect layer; no I/O): a tuple of ``ScanEvent``'s
    fields, the headers as they came (cut to size); all the rest is the flush's work.
    (``_append``: ``buffer.append`` bound once; the buffer is never replaced.)"""
    get = meta.get
    cookies = get("HTTP_COOKIE")
    _append(
        (
            code_id,
            at,
            genuine,
            get("HTTP_USER_AGENT", "")[_AGENT_CUT],
            get("HTTP_REFERER", "")[_HEADER_CUT],
            get("REMOTE_ADDR", ""),
            get("HTTP_X_FORWARDED_FOR", "")[_HEADER_CUT],
            _session_of(cookies) if cookies else "",
        )
    )


def pending_by_code() -> collections.Counter[str]:
    """Scans buffered but not yet written, per code."""
    return collections.Counter(event[0] for event in list(buffer))


def _address(remote_addr: str, forwarded_for: str) -> str:
    request = SimpleNamespace(
        META={"REMOTE_ADDR": remote_addr, "HTTP_X_FORWARDED_FOR": forwarded_for}
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


Owners = dict[str, tuple[int | None, int | None]]  # live code id -> household, owner user


class Pacer:
    """Spreads a flush's work over time, so the request threads of the same process (which
    share its GIL) keep most of the processor while it runs: after each slice of
    ``YIELD_EVERY`` events it sleeps ``PACE_RATIO`` times the processor time the slice took,
    until ``budget`` seconds of pauses are spent (then only ``sleep(0)``, which lets a
    waiting thread run). A burst of a whole second's scans at once took a fifth of a core for
    ~200 ms; requests that arrived meanwhile queued behind it (the tail of ``/r/``)."""

    def __init__(self, budget: float) -> None:
        self.left = budget
        self.mark = time.thread_time()

    def slice_done(self) -> None:
        if stopping.is_set():  # what is left is written at full speed before the kill
            self.left = 0.0
        pause = 0.0
        if self.left > 0:
            pause = min((time.thread_time() - self.mark) * PACE_RATIO, self.left)
            self.left -= pause
        time.sleep(pause)
        self.mark = time.thread_time()


class Batch:
    """What one batch of events becomes: the rows to store (``COLUMNS``' order, the instant as
    the text the database stores), per code the scans and the latest instant, the scans per
    kind for the metrics, and what the ``hooks`` receivers are told.

    ``rows`` is what the connection's write takes: on SQLite the rows' values one after the
    other (``WIDTH`` a row, for ``rowsinsert.sqlite_values_insert``), on PostgreSQL one line
    of ``COPY`` text a row (``_copy_text``); ``count`` is the number of rows."""

    def __init__(self) -> None:
        self.rows: list[Any] = []
        self.count = 0
        self.per_code: dict[str, list[Any]] = {}  # code id -> [scans, latest epoch seconds]
        self.kinds: collections.Counter[str] = collections.Counter()
        self.recorded: list[hooks.RecordedScan] = []  # code id, epoch seconds, bot


class _Instants:
    """Epoch seconds as the text the connection stores, worked out once per whole second.

    SQLite keeps ``str()`` of the naive instant in the connection's zone (what Django's own
    ``adapt_datetimefield_value`` gives); PostgreSQL reads UTC with its offset (``COPY``
    text). The day (UTC) salts the visitor hash."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.zone = connection.timezone
        self.suffix = "+00" if self.postgres else ""
        self.seconds: dict[int, tuple[str, str, dt.date, dt.datetime]] = {}

    def second(self, whole: int) -> tuple[str, str, dt.date, dt.datetime]:
        """For the second ``whole``: the text of its instant with no fraction, the text
        that goes before a fraction, its day (UTC) and the aware instant."""
        found = self.seconds.get(whole)
        if found is None:
            at = dt.datetime.fromtimestamp(whole, tz=dt.UTC)
            if self.postgres:
                text = at.replace(tzinfo=None).isoformat(" ")  # 2026-12-03 14:05:00
                found = (f"{text}+00", f"{text}.", at.date(), at)
            else:
                text = str(at.astimezone(self.zone).replace(tzinfo=None))
                found = (text, f"{text}.", at.date(), at)
            self.seconds[whole] = found
        return found

    def text(self, at: float) -> tuple[str, dt.date]:
        """The stored text of ``at`` (to the microsecond) and its day (what ``_rows``
        does inline)."""
        whole, micro = divmod(round(at * 1_000_000), 1_000_000)
        plain, before, day, _instant = self.seconds.get(whole) or self.second(whole)
        if not micro:
            return plain, day
        return f"{before}{micro:06d}{self.suffix}", day


def _rows(events: list[Event], live: Owners, people: OwnScans, pacer: Pacer) -> Batch:
    """One row per event of a live code, but none for its own people's scans. What
    repeats (a client, that is an agent with a referrer and an address, on a day) is worked
    out once per batch, as the columns the connection's write takes: most events cost a few
    dictionary lookups and one string (PostgreSQL) or one short tuple (SQLite)."""
    batch = Batch()
    rows, per_code = batch.rows, batch.per_code
    recorded = batch.recorded if hooks.has_receivers() else None
    instants = _Instants()
    copy = instants.postgres
    seconds, second, suffix = instants.seconds, instants.second, instants.suffix
    # (agent, referrer, address, forwarded-for, day) -> (bot, the row's columns after the
    # instant and genuine: a tuple for SQLite, the end of a COPY line for PostgreSQL)
    clients: dict[tuple[str, str, str, str, dt.date], tuple[bool, Any]] = {}
    visitors: dict[tuple[str, dt.date], tuple[str, str]] = {}
    own = bots = genuines = 0
    for start in range(0, len(events), YIELD_EVERY):
        if start:
            pacer.slice_done()  # let request threads have the GIL between slices
        for code_id, at, genuine, user_agent, referrer, remote, forwarded, session in events[
            start : start + YIELD_EVERY
        ]:
            owners = live.get(code_id)
            if owners is None:
                continue
            if session and people.own(session, *owners):
                own += 1
                continue
            whole, micro = divmod(round(at * 1_000_000), 1_000_000)  # instants.text, inline
            plain, before, day, _instant = seconds.get(whole) or second(whole)
            key = (user_agent, referrer, remote, forwarded, day)
            client = clients.get(key)
            if client is None:
                found = _client(user_agent, referrer, remote, forwarded, day, visitors)
                stored = _copy_text(found) if copy else (int(found[0]), *found[1:])
                client = clients[key] = (found[0], stored)
            bot, columns = client
            if copy:  # code, instant, genuine and the client's columns: one line of text
                # (an id of the codes' alphabet, digits: nothing to escape but the client's)
                rows.append(
                    f"{code_id}\t{before}{micro:06d}{suffix}\t{'t' if genuine else 'f'}{columns}"
                    if micro
                    else f"{code_id}\t{plain}\t{'t' if genuine else 'f'}{columns}"
                )
            else:  # the same values one after the other, booleans as 1 and 0 (see _write)
                rows += (code_id, f"{before}{micro:06d}" if micro else plain, 1 if genuine else 0)
                rows += columns
            counted = per_code.get(code_id)
            if counted is None:
                per_code[code_id] = [1, at]
            else:
                counted[0] += 1
                if at > counted[1]:
                    counted[1] = at
            if bot:
                bots += 1
            elif genuine:
                genuines += 1
            if recorded is not None:
                recorded.append((code_id, at, bot))
    batch.count = count = len(rows) if copy else len(rows) // WIDTH
    kinds = batch.kinds
    for kind, n in (
        ("bot", bots),
        ("genuine", genuines),
        ("typed", count - bots - genuines),
        ("own", own),
    ):
        if n:
            kinds[kind] = n
    return batch


def _client(
    user_agent: str,
    referrer: str,
    remote: str,
    forwarded: str,
    day: dt.date,
    visitors: dict[tuple[str, dt.date], tuple[str, str]],
) -> tuple[bool, str, str, str, str, str, str]:
    """What a client's scan on ``day`` stores besides the code, instant and genuine: bot,
    referrer host, visitor, device, OS, browser, country (``COLUMNS``' order; ``visitors``
    keeps the hash and country of an address on a day, which several clients behind one
    address share)."""
    agent = agent_parse(user_agent)
    address = _address(remote, forwarded)
    found = visitors.get((address, day))
    if found is None:
        found = visitors[(address, day)] = (_visitor(address, day), country_of(address))
    visitor, country = found
    host = _referrer_host(referrer)
    return (agent.bot, host, visitor, agent.device, agent.os, agent.browser, country)


# What COPY's text format escapes in a value (backslash first: the others add backslashes).
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _copy_value(text: str) -> str:
    for char, escaped in _COPY_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    return text


def _copy_text(columns: tuple[bool, str, str, str, str, str, str]) -> str:
    """A client's columns (``_client``) as the end of a line of ``COPY`` text: each value
    after a tab, booleans as ``t``/``f``, text escaped, the newline that ends the row."""
    bot, *texts = columns
    return "".join(["\tt" if bot else "\tf", *(f"\t{_copy_value(t)}" for t in texts), "\n"])


def _stored(at: float) -> Any:
    """``at`` as the connection takes a datetime parameter."""
    return connection.ops.adapt_datetimefield_value(dt.datetime.fromtimestamp(at, tz=dt.UTC))


_CODE_ID, _SESSION = operator.itemgetter(0), operator.itemgetter(7)  # an Event's fields


def _write(events: list[Event], pacer: Pacer) -> int:
    # Plain values, the instants as text, one COPY of text lines (PostgreSQL) or a few
    # multi-row INSERTs (SQLite) and one statement for the counts: building model instances,
    # datetimes and parameters row by row took most of a scan's processor time, and their
    # garbage paused the request threads of the same process. An ``executemany`` of one
    # INSERT per row cost SQLite its per-statement work for every row (about a third of
    # the INSERT) and psycopg's ``write_row`` formatted each row in Python. Python's sqlite3
    # binds a bool only after looking for an adapter (two failed attribute lookups each):
    # the rows carry 1 and 0, what SQLite stores for a boolean anyway (0.5 µs a row less).
    ids = set(map(_CODE_ID, events))
    people = OwnScans(set(map(_SESSION, events)))  # no query without session cookies
    codes = QRCode.objects.filter(pk__in=ids)
    live: Owners = {
        code_id: (household_id, owner_id)
        for code_id, household_id, owner_id in codes.values_list(
            "pk", "household_id", "owner_user_id"
        )
    }
    # Built before the transaction, so the (paced) work holds no write lock. A code deleted
    # meanwhile fails the commit (its foreign key); the batch is then tried again.
    batch = _rows(events, live, people, pacer)
    counts = [(n, _stored(last), code_id) for code_id, (n, last) in batch.per_code.items()]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(COPY) as copy:
                copy.write("".join(batch.rows))
            if counts:
                columns = [[count[i] for count in counts] for i in (2, 0, 1)]
                cursor.execute(COUNT_ADD_MANY, columns)  # ids, scans, latest
        else:
            sqlite_values_insert(cursor, INSERT_HEAD, WIDTH, batch.rows)
            cursor.executemany(COUNT_ADD, counts)
    kinds = batch.kinds
    transaction.on_commit(lambda: _metrics_add(kinds))
    recorded = batch.recorded
    if recorded:  # the apps above told of the batch once it is committed
        transaction.on_commit(lambda: hooks.scans_recorded_send(recorded))
    return batch.count


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


def scan_buffer_flush(*, pace: float = 0.0) -> int:
    """Write every buffered scan; returns how many rows were written. A failure puts the
    batch back (the exception is logged, not raised: the caller is a loop or ``atexit``).
    ``pace``: seconds the flush may spend pausing between slices of work (``Pacer``; the
    redirect's refresher gives half its interval, none once the process is stopping)."""
    written = 0
    pacer = Pacer(pace)
    with _flush_lock:
        _unknown_report()
        take = buffer.popleft
        while buffer:
            # popleft is atomic: the request threads append meanwhile, nothing is lost
            events: list[Event] = [take() for _ in range(min(len(buffer), MAX_BATCH))]
            try:
                written += _write(events, pacer)
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
