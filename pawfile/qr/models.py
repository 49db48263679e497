"""QR codes, their scans, and the generation counter the redirect layer watches.

A ``QRCode`` is named by its short id (the primary key, ``ids.code_id_new``): that id is in
every printed code, so it never changes. It leads to a target (``target_kind``: a web
address now, a pet's public page later through ``target_ref``), may be switched off, expire
or run out of scans, and carries the style its images are drawn with. An owner is a household
(pet tags, later) or, for generic codes, the staff user who made it.

``Scan`` rows are written in batches by ``scans.scan_buffer_flush``, never by the request
that scanned. ``RedirectGeneration`` is one row whose ``value`` every change of a code bumps
(in the same transaction), so each process knows when to reload its map of codes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pawfile.qr.choices import ErrorLevel, TargetKind

ID_MAX_LENGTH = 16
TARGET_MAX_LENGTH = 2000
FRAME_TEXT_MAX_LENGTH = 40


class QRBatch(models.Model):
    """A run of pre-printed tags: ``count`` unclaimed codes made at once in one style (the
    codes copy it), printed on one sheet, each claimed later by a pet's household."""

    count = models.PositiveIntegerField(_("number of codes"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    fg_color = models.CharField(_("code colour"), max_length=7, default="#000000")
    bg_color = models.CharField(_("background colour"), max_length=7, default="#ffffff")
    module_size = models.PositiveSmallIntegerField(_("module size"), default=10)
    quiet_zone = models.PositiveSmallIntegerField(_("quiet zone"), default=4)
    error_level = models.CharField(
        _("error correction"), max_length=1, choices=ErrorLevel.choices, default=ErrorLevel.M
    )
    frame_text = models.CharField(_("frame text"), max_length=FRAME_TEXT_MAX_LENGTH, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("tag batch")
        verbose_name_plural = _("tag batches")

    def __str__(self) -> str:
        return f"#{self.pk}: {self.count} ({self.created_at:%Y-%m-%d})"


class QRCode(models.Model):
    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH, editable=False)
    title = models.CharField(_("title"), max_length=120)
    target_kind = models.CharField(
        max_length=16, choices=TargetKind.choices, default=TargetKind.URL
    )
    target_url = models.CharField(_("target"), max_length=TARGET_MAX_LENGTH, blank=True)
    # The object a non-URL target names (a pet's id for ``pet_page``); resolved by its app.
    target_ref = models.PositiveBigIntegerField(null=True, blank=True)
    household = models.ForeignKey(
        "accounts.Household", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    scan_limit = models.PositiveIntegerField(_("scan limit"), null=True, blank=True)
    scan_count = models.PositiveBigIntegerField(default=0)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    # Style
    fg_color = models.CharField(_("code colour"), max_length=7, default="#000000")
    bg_color = models.CharField(_("background colour"), max_length=7, default="#ffffff")
    module_size = models.PositiveSmallIntegerField(_("module size"), default=10)
    quiet_zone = models.PositiveSmallIntegerField(_("quiet zone"), default=4)
    error_level = models.CharField(
        _("error correction"), max_length=1, choices=ErrorLevel.choices, default=ErrorLevel.M
    )
    logo = models.CharField(max_length=255, blank=True)  # storage name of the re-encoded PNG
    frame_text = models.CharField(_("frame text"), max_length=FRAME_TEXT_MAX_LENGTH, blank=True)
    # Bumped by every change of what the images show (their ETag).
    revision = models.PositiveIntegerField(default=1)
    # Pre-printed tags: the batch a code was made in, and who claimed it for a pet, when.
    batch = models.ForeignKey(
        QRBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="codes"
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("qr_manager", "Can manage generic QR codes")]
        indexes = [
            models.Index(fields=["owner_user", "-created_at"], name="qr_code_owner_idx"),
            models.Index(fields=["target_kind", "target_ref"], name="qr_code_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.id})"


class Scan(models.Model):
    """One visit of ``/r/{id}``. No address is kept: ``visitor`` is a salted hash of the
    client address and the day (unique visitors per day, not across days)."""

    # No index of its own: qr_scan_code_at_idx (code, at) serves lookups by code.
    code = models.ForeignKey(QRCode, on_delete=models.CASCADE, related_name="scans", db_index=False)
    at = models.DateTimeField()
    genuine = models.BooleanField(default=False)  # came from the printed code (its marker)
    bot = models.BooleanField(default=False)
    referrer_host = models.CharField(max_length=255, blank=True)
    visitor = models.CharField(max_length=16, blank=True)
    # From the user agent (ua-parser families, parsed in the flush): "iPhone", "iOS", "Chrome".
    device = models.CharField(max_length=64, blank=True)
    os = models.CharField(max_length=64, blank=True)
    browser = models.CharField(max_length=64, blank=True)
    # ISO code from a local GeoIP database (``PAWFILE_GEOIP_PATH``); "" without one.
    country = models.CharField(max_length=2, blank=True)

    class Meta:
        indexes = [models.Index(fields=["code", "at"], name="qr_scan_code_at_idx")]

    def __str__(self) -> str:
        return f"{self.code_id} {self.at:%Y-%m-%d %H:%M:%S}"


class ScanDay(models.Model):
    """The scans of one code on one day (UTC), once they are older than the retention
    (``PAWFILE_SCAN_RETENTION_DAYS``): ``scans.scan_retention_run`` folds the rows into
    this and deletes them. ``unique`` is the distinct visitors of that day."""

    code = models.ForeignKey(QRCode, on_delete=models.CASCADE, related_name="scan_days")
    day = models.DateField()
    total = models.PositiveIntegerField(default=0)
    genuine = models.PositiveIntegerField(default=0)
    unique = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code", "day"], name="qr_scanday_code_day_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.code_id} {self.day}: {self.total}"


class RedirectGeneration(models.Model):
    """One row (pk 1): bumped in the transaction of every change to a code."""

    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"generation {self.value}"
