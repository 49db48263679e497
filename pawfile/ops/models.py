"""The operations app's one table: a row per backup attempt, for /health and /metrics."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from pawfile.ops.choices import BackupTrigger


class BackupRun(models.Model):
    """One backup attempt, written when it ends (so a backup never holds its own row).

    ``ok`` is true when the archive was written whole; ``error`` says why not otherwise.
    ``archive`` is the archive's file name in the backup folder.
    """

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(db_index=True)
    ok = models.BooleanField(default=False)
    trigger = models.CharField(max_length=16, choices=BackupTrigger.choices)
    archive = models.CharField(max_length=255, blank=True, default="")
    size = models.PositiveBigIntegerField(default=0)
    rows = models.PositiveBigIntegerField(default=0)
    files = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("backup run")
        ordering = ["-finished_at", "-id"]

    def __str__(self) -> str:
        return f"backup {self.finished_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'failed'}"
