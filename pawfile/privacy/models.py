"""The privacy app's one table: data exports asked for from the "Your data" page."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from pawfile.accounts.models import User


class DataExportStatus(models.TextChoices):
    """Where a data export is in its life: built, mailed, fetched once, then gone."""

    PENDING = "pending", _("Being prepared")
    READY = "ready", _("Ready to download")
    DOWNLOADED = "downloaded", _("Downloaded")
    EXPIRED = "expired", _("Expired")
    FAILED = "failed", _("Failed")


class DataExport(models.Model):
    """A zip of everything a user owns or shares, asked for from the "Your data" page.

    The download link carries a signed id and a random token; only the token's SHA-256 is
    stored here, so the table alone cannot produce a working link. The file lives in the
    default storage under ``exports/`` (never publicly served) until it is downloaded once or
    expires.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="data_exports")
    status = models.CharField(
        max_length=16, choices=DataExportStatus.choices, default=DataExportStatus.PENDING
    )
    token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    file_name = models.CharField(max_length=255, blank=True, default="")
    size = models.PositiveBigIntegerField(default=0)
    language = models.CharField(max_length=8, blank=True, default="")
    error = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The model moved here from accounts; its table keeps the name it had there, so an
        # existing install keeps its rows and no table is copied or renamed.
        db_table = "accounts_dataexport"
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.user_id} ({self.status})"
