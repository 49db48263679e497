"""Health records of a pet, one table for all kinds, and files attached to them.

Each kind uses a subset of the columns (``choices.FIELDS``); services refuse the others.
Weight is stored in grams whatever unit it was entered in.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pawfile.health.choices import DewormingScope, Kind, Severity
from pawfile.pets.models import Pet


class HealthRecord(models.Model):
    pet = models.ForeignKey(Pet, on_delete=models.CASCADE, related_name="health_records")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=160, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # vaccination / deworming
    manufacturer = models.CharField(_("manufacturer"), max_length=120, blank=True)
    batch = models.CharField(_("batch / lot"), max_length=60, blank=True)
    next_due = models.DateField(_("valid until / next due"), null=True, blank=True)
    deworming_scope = models.CharField(
        _("internal / external"), max_length=10, choices=DewormingScope.choices, blank=True
    )
    # vet, clinic: vaccination, visit, surgery
    vet_name = models.CharField(_("vet"), max_length=120, blank=True)
    clinic = models.CharField(_("clinic"), max_length=120, blank=True)
    # medication
    dose = models.CharField(_("dose"), max_length=60, blank=True)
    frequency = models.CharField(_("frequency"), max_length=60, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    # visit
    diagnosis = models.TextField(_("diagnosis"), blank=True)
    cost = models.DecimalField(_("cost"), max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    # allergy
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, blank=True)
    # lab
    result = models.TextField(_("result"), blank=True)
    # weight
    weight_grams = models.PositiveIntegerField(_("weight (g)"), null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("health record")
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["pet", "kind", "-date"]),
            models.Index(fields=["pet", "-date"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name or ''} {self.date}".strip()


def attachment_path(instance: Attachment, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"pets/{instance.record.pet_id}/records/{instance.key}.{ext}"


class Attachment(models.Model):
    """A PDF or image on a health record (a certificate, a lab report)."""

    record = models.ForeignKey(HealthRecord, on_delete=models.CASCADE, related_name="attachments")
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name
