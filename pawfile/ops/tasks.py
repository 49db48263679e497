"""The scheduled backup (``PAWFILE_BACKUP_SCHEDULE``), run by the scheduler."""

from __future__ import annotations

import logging

from django.conf import settings

from pawfile.lib.tasks import periodic_task
from pawfile.ops.backup.archive import ArchiveError
from pawfile.ops.backup.retention import archives_prune
from pawfile.ops.backup.s3 import S3Location, s3_archives_prune
from pawfile.ops.backup.services import backup_create, backup_target
from pawfile.ops.backup.status import backup_schedule, backup_status_forget
from pawfile.ops.choices import BackupTrigger

log = logging.getLogger(__name__)


def backup_scheduled_run() -> bool:
    """Write a backup to ``PAWFILE_BACKUP_DIR`` (a folder or ``s3://bucket/prefix/``,
    encrypted to ``PAWFILE_BACKUP_ENCRYPT_TO``), then prune old archives there by the
    ``PAWFILE_BACKUP_KEEP_*`` rules. A failure is recorded (``BackupRun``; /health warns)
    and logged, never retried at once: the next run is the retry. A failed pruning is logged
    and the backup still counts. Returns whether a backup was written."""
    try:
        target = backup_target(settings.PAWFILE_BACKUP_DIR)
        result = backup_create(
            target=target,
            recipient=settings.PAWFILE_BACKUP_ENCRYPT_TO,
            trigger=BackupTrigger.SCHEDULE,
        )
    except ArchiveError as exc:
        log.error("scheduled backup failed: %s", exc)
        return False
    finally:
        backup_status_forget()
    keep = {
        "hourly": settings.PAWFILE_BACKUP_KEEP_HOURLY,
        "daily": settings.PAWFILE_BACKUP_KEEP_DAILY,
        "weekly": settings.PAWFILE_BACKUP_KEEP_WEEKLY,
    }
    log.info("scheduled backup written: %s (%s bytes)", result.location, result.size)
    try:
        if isinstance(target, S3Location):
            s3_archives_prune(target, **keep)
        else:
            archives_prune(target, **keep)
    except (ArchiveError, OSError) as exc:
        log.error("pruning old backups failed: %s", exc)
    return True


@periodic_task(backup_schedule(settings.PAWFILE_BACKUP_SCHEDULE))
def backup_scheduled() -> bool:
    return backup_scheduled_run()
