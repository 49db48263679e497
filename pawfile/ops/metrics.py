"""Prometheus metrics, kept in a registry of their own (never the library's global one).

* ``pawfile_http_requests_total{route,method,status}`` — every response.
* ``pawfile_http_request_duration_seconds{route,method}`` — a histogram of the same.
* ``pawfile_queue_depth`` — tasks waiting in the queue, read when scraped.
* ``pawfile_build_info{version,python,django}`` — always 1.
* ``pawfile_backup_age_seconds`` — since the last good backup ended (NaN: none yet).
* ``pawfile_backup_last_ok`` — 1 when the last backup attempt succeeded, 0 when it failed.
* ``pawfile_storage_up`` — 1 when the S3 bucket of the stored files answers, 0 when not
  (NaN: files on local disk); the ``storage`` check of /health, kept a few seconds.
* ``pawfile_qr_scans_total{kind}`` — QR scans written by the scan flush (``qr.scans``).
* ``process_*`` — the serving process's CPU, memory and file descriptors.

``route`` is the URL pattern that matched (``invitations/<str:token>/``, ``/`` for the root),
``static`` for static files and ``unmatched`` otherwise, never the raw path, so the number of
series stays bounded whatever clients request.

With several web worker processes (``pawfile web --workers N``), a scrape reaches one of them
at random; each would report only its own requests. ``pawfile web`` therefore gives its
workers a shared folder in ``PROMETHEUS_MULTIPROC_DIR`` (created empty at start, removed at
exit): the request counters and histograms are then kept in files there by every worker and
summed at each scrape, whichever worker answers. The queue depth and build info are read by
the answering worker, and the ``process_*`` figures are that worker's own.
"""

from __future__ import annotations

import math
import os
import platform
from importlib import metadata

import django
from django.conf import settings
from django.http import HttpRequest
from django.urls import Resolver404, resolve
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)


def _version() -> str:
    try:
        return metadata.version("pawfile")
    except metadata.PackageNotFoundError:
        return "0"


VERSION = _version()
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Read by prometheus_client when it is first imported, as here: values then live in files.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REGISTRY = CollectorRegistry(auto_describe=True)  # this process's own metrics
ProcessCollector(registry=REGISTRY)
# Shared across workers: summed from the files at each scrape instead of read from here.
_SHARED = None if MULTIPROCESS else REGISTRY

REQUESTS = Counter(
    "pawfile_http_requests",
    "HTTP requests answered, by URL pattern, method and status.",
    ["route", "method", "status"],
    registry=_SHARED,
)
DURATION = Histogram(
    "pawfile_http_request_duration_seconds",
    "Time spent answering HTTP requests, by URL pattern and method.",
    ["route", "method"],
    registry=_SHARED,
)
QUEUE_DEPTH = Gauge(
    "pawfile_queue_depth",
    "Tasks waiting in the queue (NaN when the queue cannot be read).",
    registry=REGISTRY,
)
BUILD_INFO = Gauge(
    "pawfile_build_info",
    "Pawfile version and runtime; always 1.",
    ["version", "python", "django"],
    registry=REGISTRY,
)
BUILD_INFO.labels(VERSION, platform.python_version(), django.get_version()).set(1)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _queue_depth() -> float:
    from pawfile.lib.tasks import queue_depth

    try:
        return float(queue_depth())
    except Exception:
        # A failing scrape would hide every other metric; NaN says "unknown" instead.
        return math.nan


QUEUE_DEPTH.set_function(_queue_depth)

BACKUP_AGE = Gauge(
    "pawfile_backup_age_seconds",
    "Seconds since the last good backup ended (NaN when there is none, or unreadable).",
    registry=REGISTRY,
)
BACKUP_LAST_OK = Gauge(
    "pawfile_backup_last_ok",
    "1 when the last backup attempt succeeded, 0 when it failed (NaN: none yet).",
    registry=REGISTRY,
)


def _backup_figure(name: str) -> float:
    from pawfile.ops.backup.status import backup_status

    try:
        status = backup_status()
    except Exception:
        return math.nan
    if name == "age":
        return math.nan if status["age_s"] is None else float(status["age_s"])
    if status["last_ok_at"] is None and not status["last_failed"]:
        return math.nan
    return 0.0 if status["last_failed"] else 1.0


BACKUP_AGE.set_function(lambda: _backup_figure("age"))
BACKUP_LAST_OK.set_function(lambda: _backup_figure("last_ok"))

STORAGE_UP = Gauge(
    "pawfile_storage_up",
    "1 when the S3 bucket of the stored files answers, 0 when not (NaN: local disk).",
    registry=REGISTRY,
)


def _storage_up() -> float:
    from pawfile.ops.health import storage_state

    try:
        state = storage_state()
    except Exception:
        return math.nan
    return math.nan if state is None else 0.0 if state else 1.0


STORAGE_UP.set_function(_storage_up)

# labels() takes a lock and builds a key on every call; the children are cached here
# instead. Both maps stay small because every label is drawn from a bounded set.
_counters: dict[tuple[str, str, str], Counter] = {}
_timers: dict[tuple[str, str], Histogram] = {}


def route_of(request: HttpRequest, status: int) -> str:
    """The label for ``request``'s URL pattern; never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None and status != 404:
        # A middleware answered before URL resolution (a rate limit, a redirect). Unmatched
        # paths are skipped: resolving them again would only cost time on scanner noise.
        try:
            match = resolve(request.path_info)
        except Resolver404:
            match = None
    if match is not None:
        return match.route or "/"
    if request.path_info.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


def observe(request: HttpRequest, status: int, seconds: float) -> str:
    """Count one answered request, record how long it took; return its route label."""
    route = route_of(request, status)
    method = request.method if request.method in METHODS else "other"
    key = (route, method, str(status))
    counter = _counters.get(key)
    if counter is None:
        counter = _counters[key] = REQUESTS.labels(*key)
    counter.inc()
    timer = _timers.get((route, method))
    if timer is None:
        timer = _timers[(route, method)] = DURATION.labels(route, method)
    timer.observe(seconds)
    return route


QR_SCANS = Counter(
    "pawfile_qr_scans",
    "QR code scans written, by kind (genuine, typed, bot, unknown_id).",
    ["kind"],
    registry=_SHARED,
)
QR_SCAN_KINDS = frozenset({"genuine", "typed", "bot", "own", "unknown_id"})


def qr_scans_observe(kind: str, count: int) -> None:
    """Add ``count`` scans of ``kind`` (one of ``QR_SCAN_KINDS``; anything else: ``other``)."""
    QR_SCANS.labels(kind if kind in QR_SCAN_KINDS else "other").inc(count)


def render() -> bytes:
    """Every metric in the Prometheus text exposition format (all workers' requests)."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    shared = CollectorRegistry()
    multiprocess.MultiProcessCollector(shared)
    return generate_latest(shared) + generate_latest(REGISTRY)
