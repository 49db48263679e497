"""What /health and /metrics say about backups, and when the scheduler makes one."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Min
from django.utils import timezone

from pawfile.lib.tasks import crontab
from pawfile.ops.models import BackupRun

# /health is called every few seconds by load balancers: the answer is kept this long.
CACHE_SECONDS = 15.0
_cached: tuple[float, dict[str, Any]] | None = None
_installed_at: datetime | None = None


def backup_schedule(spec: str) -> Callable[[datetime], bool]:
    """``PAWFILE_BACKUP_SCHEDULE`` as a test of a UTC minute: ``hourly`` (minute 0),
    ``daily`` (03:00), ``off`` (never), or a crontab line ``minute hour day month weekday``."""
    if spec == "off":
        return lambda moment: False
    if spec == "hourly":
        return crontab(minute="0")
    if spec == "daily":
        return crontab(minute="0", hour="3")
    minute, hour, day, month, weekday = spec.split()
    return crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday)


def _installed() -> datetime | None:
    """When the site was set up (its first migration); a site younger than the stale limit
    is not warned about for having no backup yet."""
    global _installed_at
    if _installed_at is None:
        _installed_at = MigrationRecorder.Migration.objects.aggregate(first=Min("applied"))["first"]
    return _installed_at


def backup_status(*, now: datetime | None = None, fresh: bool = False) -> dict[str, Any]:
    """``{"last_ok_at", "age_s", "last_failed", "warning"}`` about the site's backups.

    ``warning`` is ``None``, ``"stale"`` (no good backup for ``PAWFILE_BACKUP_STALE_AFTER``
    seconds, or none since the site was set up that long ago) or ``"failed"`` (the last
    attempt failed). Kept ``CACHE_SECONDS`` unless ``fresh``.
    """
    global _cached
    if not fresh and now is None and _cached and time.monotonic() - _cached[0] < CACHE_SECONDS:
        return _cached[1]
    now = now or timezone.now()
    last = BackupRun.objects.only("ok", "finished_at").first()
    good = BackupRun.objects.filter(ok=True).only("finished_at").first()
    age = (now - good.finished_at).total_seconds() if good else None
    limit = settings.PAWFILE_BACKUP_STALE_AFTER
    warning = None
    if last is not None and not last.ok:
        warning = "failed"
    elif limit:
        since = good.finished_at if good else _installed()
        if since is not None and (now - since).total_seconds() > limit:
            warning = "stale"
    status = {
        "last_ok_at": good.finished_at.isoformat() if good else None,
        "age_s": round(age) if age is not None else None,
        "last_failed": bool(last is not None and not last.ok),
        "warning": warning,
    }
    _cached = (time.monotonic(), status)
    return status


def backup_status_forget() -> None:
    """Drop the kept answer (after a backup in this process, and in tests)."""
    global _cached, _installed_at
    _cached = _installed_at = None
