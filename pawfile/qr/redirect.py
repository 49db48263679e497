"""``/r/{id}``: the QR redirect, answered by a small WSGI layer in front of Django.

``qr_redirect(app)`` wraps the WSGI application (``config/wsgi.py``, which both ``pawfile
serve`` and ``pawfile web`` load). A path under ``/r/`` never reaches Django: no middleware,
session, CSRF, template or database query. Everything else goes to ``app`` untouched.

Answers: ``302`` to the code's target (``Cache-Control: no-store``, so every scan comes
back here): a generic code's address, a pet tag's public page path (``/p/{slug}``, relative),
an unclaimed or unlinked tag's claim page ``/t/{id}`` ("This tag is not linked yet");
``410`` with a small page for a code switched off, expired or out of scans;
``404`` for an id that does not exist; ``405`` for a method other than GET or HEAD. HEAD gets
the same status and headers without a body. A scan answered 302 is counted
(``scans.scan_record``, an in-memory append); a HEAD is not (link checkers send them). The
layer is the outermost in front of Django (``config/wsgi.py``), and a GET of a plain code
(served, with neither expiry nor limit) is answered by ``__call__`` itself: one lookup of the
whole path (``RedirectTable.plain``, keyed by ``/r/{id}``, so no prefix test or slice), one
clock read, the append and the 302's headers built when the map was loaded.

The map id → (target, active, expiry, limit) lives in process memory in a ``RedirectTable``.
A background thread (one per process, started by the first request, which waits for the
first load) polls the generation counter every 0.5 s (``generation``: Redis in scale-out, the
database row when embedded; a change committed in this process wakes it at once) and
reloads the whole map in one query when it moved, then swaps it in: an edit or deactivation
reaches every process within about 0.5 s plus the reload. In Redis mode the row is also read
every ``DB_CHECK_SECONDS`` in case a Redis bump was lost. The same thread flushes the scan
buffer every ``PAWFILE_QR_FLUSH_INTERVAL_MS``, refreshes the scan counts of codes with a
limit, and a final flush runs at a clean stop (registered with ``atexit`` when the thread
starts, which is after ``cli.processes.wsgi_app`` registered its ``os._exit`` handler, so it runs
first: ``atexit`` runs the last registered first).

Scan limits count this process's scans at once and other processes' scans at each flush, so
across several processes a limit may be passed by the scans of one flush interval.
"""

from __future__ import annotations

import atexit
import gc
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from pawfile.lib.stopsignal import stopping
from pawfile.qr.choices import TargetKind
from pawfile.qr.generation import POLL_SECONDS, changed_here, generation_db, generation_shared
from pawfile.qr.ids import code_id_valid
from pawfile.qr.images import PRINTED_MARKER
from pawfile.qr.models import QRCode
from pawfile.qr.scans import (
    agent_parser_warm,
    pending_by_code,
    scan_buffer_flush,
    scan_record,
    unknown_hits,
)

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
DB_CHECK_SECONDS = 10.0
CLAIM_PREFIX = "/t/"  # an unclaimed or unlinked tag leads to its claim page (qr.urls)
FIRST_LOAD_TIMEOUT = 15.0
_HEADER_SAFE = re.compile(r"^[\x21-\x7e]+$")  # what a Location may carry: printable ASCII
PAGE_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("Content-Security-Policy", "default-src 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
]


@dataclass(frozen=True, slots=True)
class Entry:
    location: str | None  # None: the stored target is not fit for a header (never served)
    active: bool
    expires_at: float | None
    scan_limit: int | None
    # The 302's headers, built once and handed to every request's ``start_response`` (the
    # server and the layers in front copy them, never change them); ``gone``: never served;
    # ``plain``: served, with neither expiry nor limit (a GET of it takes the short path).
    headers: list[tuple[str, str]] = field(default_factory=list, compare=False)
    gone: bool = False
    plain: bool = False

    @classmethod
    def of(
        cls, location: str | None, active: bool, expires_at: float | None, scan_limit: int | None
    ) -> Entry:
        headers = [
            ("Location", location or ""),
            ("Cache-Control", "no-store"),
            ("Referrer-Policy", "no-referrer"),
            ("Content-Length", "0"),
        ]
        gone = not active or location is None
        plain = not gone and expires_at is None and scan_limit is None
        return cls(location, active, expires_at, scan_limit, headers, gone, plain)


class RedirectTable:
    """The codes of this process, replaced whole on reload (readers need no lock)."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] | None = None
        # The plain codes by path (``/r/{id}`` -> (id, the 302's headers)): the short path of
        # ``QrRedirect.__call__``. Swapped in with ``entries``, from the same load.
        self.plain: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        self.counts: dict[str, int] = {}  # scans so far, for codes with a limit
        self.count_lock = threading.Lock()
        self.generation: object = object()
        self.db_checked = -DB_CHECK_SECONDS
        self.db_value: int | None = None

    def load(self) -> None:
        """Read every code (one query) and swap the map in."""
        rows = QRCode.objects.values_list(
            "id", "target_kind", "target_url", "is_active", "expires_at", "scan_limit", "scan_count"
        )
        entries: dict[str, Entry] = {}
        plain: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        counts: dict[str, int] = {}
        for code_id, kind, target, active, expires_at, limit, count in rows.iterator(
            chunk_size=2000
        ):
            if not code_id_valid(code_id):  # requests look ids up without checking their shape
                continue
            if kind == TargetKind.UNCLAIMED:
                target = f"{CLAIM_PREFIX}{code_id}"
            location = target if target and _HEADER_SAFE.match(target) else None
            expiry = expires_at.timestamp() if expires_at is not None else None
            entry = entries[code_id] = Entry.of(location, active, expiry, limit)
            if entry.plain:
                plain[f"/r/{code_id}"] = (code_id, entry.headers)
            if limit is not None:
                counts[code_id] = count
        if counts:
            pending = pending_by_code()
            for code_id in counts:
                counts[code_id] += pending.get(code_id, 0)
        with self.count_lock:
            self.counts = counts
        self.entries = entries
        self.plain = plain

    def counts_refresh(self) -> None:
        """Re-read the counts of codes with a limit (other processes' flushed scans)."""
        if not self.counts:
            return
        rows = QRCode.objects.filter(scan_limit__isnull=False).values_list("id", "scan_count")
        pending = pending_by_code()
        with self.count_lock:
            for code_id, count in rows:
                if code_id in self.counts:
                    self.counts[code_id] = count + pending.get(code_id, 0)

    def refresh_if_changed(self, *, now: float) -> bool:
        """Reload when the generation moved or a change committed here; True if reloaded.
        ``now`` is ``time.monotonic()``."""
        woke = changed_here.is_set()
        changed_here.clear()
        if settings.REDIS_URL:
            if now - self.db_checked >= DB_CHECK_SECONDS or self.entries is None:
                self.db_value = generation_db()
                self.db_checked = now
            generation: object = (generation_shared(), self.db_value)
        else:
            generation = generation_db()
        if not woke and self.entries is not None and generation == self.generation:
            return False
        self.generation = generation
        self.load()
        return True

    def scan_allowed(self, code_id: str) -> bool:
        """Count one scan of a code with a limit; False when the limit is used up."""
        entry = self.entries[code_id] if self.entries else None
        if entry is None or entry.scan_limit is None:
            return True
        with self.count_lock:
            used = self.counts.get(code_id, 0)
            if used >= entry.scan_limit:
                return False
            self.counts[code_id] = used + 1
        return True


def _page(status: int) -> bytes:
    if status == 404:
        title, text = _("Unknown code"), _("This QR code does not exist. Check the address.")
    else:
        title = _("This code is no longer active")
        text = _("The owner of this QR code has switched it off, or it has expired.")
    return (
        f'<!doctype html><html><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f"<p>{escape(text)}</p></body></html>"
    ).encode()


class QrRedirect:
    """The WSGI layer (see the module docstring). ``background=False`` (tests) loads and
    refreshes only when told (``table.refresh_if_changed``) and starts no thread."""

    def __init__(self, app: WSGIApp, *, background: bool = True) -> None:
        self.app = app
        self.background = background
        self.table = RedirectTable()
        self.loaded = threading.Event()
        self._start_lock = threading.Lock()
        self._started = False
        self._pages: dict[tuple[str, int], tuple[bytes, list[tuple[str, str]]]] = {}

    def __call__(self, meta: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = meta.get("PATH_INFO", "")
        # The scan of a plain code (served, no expiry, no limit), most of the traffic: the
        # least work that answers it. Everything else under /r/ takes ``answer``, which
        # decides the same (``test_short_path_answers_as_answer``).
        hit = self.table.plain.get(path)
        if hit is not None and meta.get("REQUEST_METHOD") == "GET":
            code_id, headers = hit
            scan_record(meta, code_id, time.time(), meta.get("QUERY_STRING") == PRINTED_MARKER)
            start_response("302 Found", headers)
            return []
        if not path.startswith("/r/"):
            return self.app(meta, start_response)
        return self.answer(meta, start_response, path[3:])

    def answer(
        self, meta: dict[str, Any], start_response: Callable[..., Any], code_id: str
    ) -> Iterable[bytes]:
        """Answer ``/r/{code_id}`` (see the module docstring)."""
        method = meta.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            start_response(
                "405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")]
            )
            return []
        entries = self.table.entries
        if entries is None:
            entries = self._first_load()
            if entries is None:
                start_response(
                    "503 Service Unavailable", [("Retry-After", "1"), ("Content-Length", "0")]
                )
                return []
        entry = entries.get(code_id)  # the map holds well-formed ids only (``load``)
        if entry is None:
            next(unknown_hits)  # counted in the metrics at the next flush
            return self._page(meta, start_response, 404)
        now = time.time()
        if entry.gone or (entry.expires_at is not None and now >= entry.expires_at):
            return self._page(meta, start_response, 410)
        if method == "GET":
            if entry.scan_limit is not None and not self.table.scan_allowed(code_id):
                return self._page(meta, start_response, 410)
            scan_record(meta, code_id, now, meta.get("QUERY_STRING") == PRINTED_MARKER)
        start_response("302 Found", entry.headers)
        return []

    def _page(
        self, meta: dict[str, Any], start_response: Callable[..., Any], status: int
    ) -> Iterable[bytes]:
        language = "es" if meta.get("HTTP_ACCEPT_LANGUAGE", "").lower().startswith("es") else "en"
        page = self._pages.get((language, status))
        if page is None:
            with translation.override(language):
                body = _page(status)
            page = self._pages[(language, status)] = (
                body,
                [*PAGE_HEADERS, ("Content-Length", str(len(body)))],
            )
        body, headers = page
        start_response("404 Not Found" if status == 404 else "410 Gone", headers)
        return [] if meta.get("REQUEST_METHOD") == "HEAD" else [body]

    def _first_load(self) -> dict[str, Entry] | None:
        if not self.background:
            self.table.refresh_if_changed(now=time.monotonic())
            return self.table.entries
        with self._start_lock:
            if not self._started:
                self._started = True
                # What the process holds now (Django, the apps, the loaded modules) is left
                # out of the cyclic collector: a full collection, which the scans' objects
                # trigger often, then walks only newer objects. Measured (bench/redirect.py,
                # embedded): p99 at 80 % load 200 ms -> 33 ms. Costs: cycles among those
                # old objects are never collected. (Frozen at import in config/wsgi.py
                # instead, the scans of `pawfile serve` were never written: not yet
                # understood, so it stays here, where it was measured and tested.)
                gc.freeze()
                threading.Thread(target=self._run, name="qr-redirect", daemon=True).start()
                # Off the refresher: the first parse of a user agent costs a second or two.
                threading.Thread(target=agent_parser_warm, name="qr-agents", daemon=True).start()
                atexit.register(scan_buffer_flush)
        self.loaded.wait(FIRST_LOAD_TIMEOUT)
        return self.table.entries

    def _run(self) -> None:
        interval = settings.PAWFILE_QR_FLUSH_INTERVAL_MS / 1000
        flushed = time.monotonic()
        while True:
            try:
                close_old_connections()
                self.table.refresh_if_changed(now=time.monotonic())
                self.loaded.set()
                # Once the process knows it is stopping, every pass writes what came: the
                # atexit flush alone was lost whenever the worker did not end on its own
                # before the stop grace (its scans of the last second, or all of them).
                if stopping.is_set() or time.monotonic() - flushed >= interval:
                    flushed = time.monotonic()
                    # Paced over up to half the interval (scans.Pacer), at full speed once
                    # the process is stopping.
                    scan_buffer_flush(pace=0.0 if stopping.is_set() else interval / 2)
                    self.table.counts_refresh()
            except Exception:
                log.exception("qr redirect: refresh failed")
            # waiting requests go on (with a 503 while no map could be loaded yet)
            self.loaded.set()
            changed_here.wait(POLL_SECONDS)


def qr_redirect(app: WSGIApp) -> WSGIApp:
    """``app`` with ``/r/{id}`` answered in front of it (see the module docstring)."""
    return QrRedirect(app)
