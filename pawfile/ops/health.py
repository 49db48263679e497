"""Health checks: is each backing service reachable and answering?

Each check is cheap (one trivial query or round trip) because load balancers call
``/health`` every few seconds and it is benchmarked. The file store is checked only when it
is an S3 bucket (``storage``: one HEAD on the bucket, its answer kept a few seconds).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from functools import cache as memoize
from time import monotonic, perf_counter
from typing import Any

from django.conf import settings
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


class CheckFailed(Exception):
    """A check failed for ``reason``: a few words safe to show in the public body (no host,
    no key), unlike the exception messages of the libraries."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# The bucket's answer is kept this long, success or failure: /health stays one local lookup
# between probes, and a store that does not answer costs one short timeout per interval.
STORAGE_CACHE_SECONDS = 10.0
_storage_answers: dict[tuple[str, ...], tuple[float, str]] = {}
_storage_lock = threading.Lock()


def storage_bucket_options() -> dict[str, Any] | None:
    """The default storage's options when it is an S3 bucket (``PAWFILE_STORAGE=s3``)."""
    default = settings.STORAGES["default"]
    return default.get("OPTIONS", {}) if default["BACKEND"].endswith("S3Storage") else None


@memoize
def _probe_client(endpoint: str, region: str, key: str, secret: str, style: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint or None,
        region_name=region or None,
        aws_access_key_id=key or None,
        aws_secret_access_key=secret or None,
        # One attempt with short timeouts: a health check must answer in seconds.
        config=Config(
            s3={"addressing_style": style},
            signature_version="s3v4",
            connect_timeout=2,
            read_timeout=3,
            retries={"total_max_attempts": 1},
        ),
    )


def _storage_probe(options: dict[str, Any]) -> str:
    """HEAD on the bucket: ``""`` when it answers 200, else the reason in a few words."""
    from botocore.exceptions import BotoCoreError, ClientError, ConnectionError

    client = _probe_client(
        options.get("endpoint_url") or "",
        options.get("region_name") or "",
        options.get("access_key") or "",
        options.get("secret_key") or "",
        options.get("addressing_style") or "auto",
    )
    try:
        client.head_bucket(Bucket=options.get("bucket_name"))
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        log.warning("storage check: the bucket answered %s", code, exc_info=True)
        if code in {"404", "NoSuchBucket", "NotFound"}:
            return "no such bucket"
        if code in {"403", "AccessDenied", "Forbidden", "InvalidAccessKeyId"}:
            return "access denied"
        return f"answered {code[:20]}"
    except ConnectionError:
        log.warning("storage check: no answer", exc_info=True)
        return "unreachable"
    except BotoCoreError as exc:
        log.warning("storage check failed", exc_info=True)
        return type(exc).__name__
    return ""


def storage_state() -> str | None:
    """``None`` when the files are on local disk (nothing to check), ``""`` when the bucket
    answered, else the reason it did not; kept ``STORAGE_CACHE_SECONDS``."""
    options = storage_bucket_options()
    if options is None:
        return None
    key = tuple(
        str(options.get(name) or "")
        for name in ("endpoint_url", "bucket_name", "region_name", "access_key", "secret_key")
    )
    with _storage_lock:  # one probe at a time; the others then read its answer
        kept = _storage_answers.get(key)
        if kept is None or monotonic() - kept[0] >= STORAGE_CACHE_SECONDS:
            kept = _storage_answers[key] = (monotonic(), _storage_probe(options))
    return kept[1]


def storage_state_forget() -> None:
    """Drop the kept answers (tests)."""
    _storage_answers.clear()


def check_storage() -> dict[str, Any]:
    """The S3 bucket the stored files live in answers a HEAD (see ``storage_state``);
    ``CheckFailed`` with the reason otherwise."""
    reason = storage_state()
    if reason:
        raise CheckFailed(reason)
    return {}


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
    ``CheckFailed`` adds its ``reason``. ``storage`` runs only when the files are in S3.
    """
    results: dict[str, dict[str, Any]] = {}
    healthy = True
    checks = dict(CHECKS)
    if storage_bucket_options() is not None:
        checks["storage"] = check_storage
    for name, check in checks.items():
        start = perf_counter()
        try:
            result: dict[str, Any] = {"ok": True, **check()}
        except Exception as exc:
            log.warning("health check failed: %s", name, exc_info=True)
            result = {"ok": False, "error": type(exc).__name__}
            if isinstance(exc, CheckFailed):
                result["reason"] = exc.reason
            healthy = False
        result["ms"] = round((perf_counter() - start) * 1000, 2)
        results[name] = result
    return healthy, results
