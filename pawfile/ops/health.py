"""Health checks: is each backing service reachable and answering?

Each check is cheap (one trivial query or round trip) because load balancers call
``/health`` every few seconds and it is benchmarked.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from time import perf_counter
from typing import Any

from django.core.cache import cache
from django.db import connection

log = logging.getLogger(__name__)

# One key per process and thread, not per call: with a fresh key each time, the in-memory
# cache would fill with probe keys and evict real entries (rate-limit counters). The
# process part is random so containers that all run as pid 1 do not share a key in Redis.
_PROCESS_TOKEN = uuid.uuid4().hex[:12]


def check_database() -> dict[str, Any]:
    """One trivial query on the default database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def check_cache() -> dict[str, Any]:
    """Writes a random value and reads it back from the default cache."""
    key = f"ops:health:{_PROCESS_TOKEN}:{threading.get_ident()}"
    value = uuid.uuid4().hex
    cache.set(key, value, timeout=60)
    if cache.get(key) != value:
        raise RuntimeError("the cache returned a different value")
    return {}


def check_queue() -> dict[str, Any]:
    """Reads the number of pending tasks from the queue's storage."""
    from pawfile.lib.tasks import queue_depth

    return {"pending": queue_depth()}


def check_backup() -> dict[str, Any]:
    """The last good backup's age, and a ``warning`` when it is stale or the last attempt
    failed (``pawfile.ops.backup.status``). A warning never fails the check: an old backup is
    no reason to take a node out of a load balancer; the report's status says ``warn``.
    When the backup state cannot be read (a site not migrated yet), the warning is
    ``unknown``; a database that does not answer fails the database check instead."""
    from pawfile.ops.backup.status import backup_status

    try:
        status = backup_status()
    except Exception:
        log.warning("backup state unreadable", exc_info=True)
        return {"age_s": None, "warning": "unknown"}
    return {key: status[key] for key in ("age_s", "warning")}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "cache": check_cache,
    "queue": check_queue,
    "backup": check_backup,
}


def run_checks() -> tuple[bool, dict[str, dict[str, Any]]]:
    """Run every check; ``(all ok, {name: {"ok", "ms", ...}})``. Never raises.

    A failed check carries ``error``, the exception's class name only: the body is public,
    and messages can name hosts and ports. The full exception is logged as a warning.
    """
    results: dict[str, dict[str, Any]] = {}
    healthy = True
    for name, check in CHECKS.items():
        start = perf_counter()
        try:
            result: dict[str, Any] = {"ok": True, **check()}
        except Exception as exc:
            log.warning("health check failed: %s", name, exc_info=True)
            result = {"ok": False, "error": type(exc).__name__}
            healthy = False
        result["ms"] = round((perf_counter() - start) * 1000, 2)
        results[name] = result
    return healthy, results
