"""Kinds of health record, which fields each kind uses, and due-status values."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    VACCINATION = "vaccination", _("Vaccination")
    DEWORMING = "deworming", _("Deworming")
    MEDICATION = "medication", _("Medication")
    VISIT = "visit", _("Vet visit")
    ALLERGY = "allergy", _("Allergy")
    SURGERY = "surgery", _("Surgery")
    LAB = "lab", _("Lab result")
    WEIGHT = "weight", _("Weight")


class DewormingScope(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    EXTERNAL = "external", _("External")
    BOTH = "both", _("Internal and external")


class Severity(models.TextChoices):
    MILD = "mild", _("Mild")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", _("Severe")


class DueStatus(models.TextChoices):
    UP_TO_DATE = "up_to_date", _("Up to date")
    DUE_SOON = "due_soon", _("Due soon")
    OVERDUE = "overdue", _("Overdue")
    NONE = "none", _("No due date")
    # A later record of the same vaccine/product supersedes this one (a booster).
    REPLACED = "replaced", _("Replaced by a later record")


# The fields each kind may carry beyond the common ones (kind, date, notes). Fields named
# in REQUIRED must be given; any field not listed for a kind is refused for that kind.
FIELDS: dict[str, tuple[str, ...]] = {
    Kind.VACCINATION: ("name", "manufacturer", "batch", "next_due", "vet_name", "clinic"),
    Kind.DEWORMING: ("name", "deworming_scope", "next_due"),
    Kind.MEDICATION: ("name", "dose", "frequency", "end_date"),
    Kind.VISIT: ("name", "diagnosis", "vet_name", "clinic", "cost", "currency"),
    Kind.ALLERGY: ("name", "severity"),
    Kind.SURGERY: ("name", "vet_name", "clinic"),
    Kind.LAB: ("name", "result"),
    Kind.WEIGHT: ("weight_grams",),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    Kind.VACCINATION: ("name",),
    Kind.DEWORMING: ("name",),
    Kind.MEDICATION: ("name",),
    Kind.VISIT: ("name",),
    Kind.ALLERGY: ("name",),
    Kind.SURGERY: ("name",),
    Kind.LAB: ("name",),
    Kind.WEIGHT: ("weight_grams",),
}
# What ``name`` means for each kind, for labels.
NAME_LABEL = {
    Kind.VACCINATION: _("Vaccine"),
    Kind.DEWORMING: _("Product"),
    Kind.MEDICATION: _("Medication"),
    Kind.VISIT: _("Reason"),
    Kind.ALLERGY: _("Allergen"),
    Kind.SURGERY: _("Procedure"),
    Kind.LAB: _("Test"),
}
# Kinds whose records carry a next due date and so a due status.
DUE_KINDS = (Kind.VACCINATION, Kind.DEWORMING)
OPTIONAL_FIELDS = sorted({f for fields in FIELDS.values() for f in fields})
