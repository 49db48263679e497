"""Background work of the QR codes app (thin: the work is in ``qr.scans``)."""

from __future__ import annotations

from pawfile.lib.tasks import crontab, periodic_task
from pawfile.qr import scans


@periodic_task(crontab(minute="41", hour="3"))
def qr_scan_retention() -> None:
    """Daily: fold scans older than ``PAWFILE_SCAN_RETENTION_DAYS`` into per-day totals."""
    scans.scan_retention_run()
