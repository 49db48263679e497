"""What the QR codes app adds to the shared features (``pawfile.lib.registry``).

Export: the codes a user owns (generic codes they made, and their households' codes, with
the batch and claim of a pre-printed tag) with their scans and the per-day summaries of
older scans (``qr_codes``, ``qr_scans``, ``qr_scan_days``). Deletion: an account takes the
generic codes it owns; a household its codes (the database cascade would too; the logo
files are named here so they go after commit); deleted pets leave their tags with the
household, unlinked. Scans and summaries go with their code.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from pawfile.lib import registry
from pawfile.lib.registry import ExportSection
from pawfile.qr.models import QRCode, Scan, ScanDay

APP = "qr"
CODE_FIELDS = (
    "id",
    "title",
    "target_kind",
    "target_url",
    "target_ref",
    "household_id",
    "is_active",
    "expires_at",
    "scan_limit",
    "scan_count",
    "last_scan_at",
    "fg_color",
    "bg_color",
    "module_size",
    "quiet_zone",
    "error_level",
    "frame_text",
    "batch_id",
    "claimed_at",
    "created_at",
    "updated_at",
)
SCAN_FIELDS = (
    "code_id",
    "at",
    "genuine",
    "bot",
    "referrer_host",
    "device",
    "os",
    "browser",
    "country",
)
SCAN_DAY_FIELDS = ("code_id", "day", "total", "genuine", "unique")


def _owned(user: Any) -> Q:
    households = user.memberships.values("household_id")
    return Q(owner_user=user) | Q(household__in=households)


def export_rows(user: Any) -> ExportSection:
    codes = list(QRCode.objects.filter(_owned(user)).order_by("created_at", "id"))
    ids = [c.id for c in codes]
    scans = Scan.objects.filter(code__in=ids).order_by("code_id", "at", "id")
    days = ScanDay.objects.filter(code__in=ids).order_by("code_id", "day")
    return ExportSection(
        rows={
            "qr_codes": [{name: getattr(c, name) for name in CODE_FIELDS} for c in codes],
            "qr_scans": [{name: getattr(s, name) for name in SCAN_FIELDS} for s in scans],
            "qr_scan_days": [{name: getattr(d, name) for name in SCAN_DAY_FIELDS} for d in days],
        }
    )


def _delete(codes: Any) -> list[str]:
    from pawfile.qr.generation import generation_bump

    found = list(codes)
    logos = [c.logo for c in found if c.logo]
    if found:
        QRCode.objects.filter(pk__in=[c.pk for c in found]).delete()
        generation_bump()
    return logos


def account_clear(user: Any) -> list[str]:
    """The generic codes ``user`` owns (with their scans and logos)."""
    return _delete(QRCode.objects.filter(owner_user=user))


def household_clear(household: Any) -> list[str]:
    """The household's codes (with their scans and logos)."""
    return _delete(QRCode.objects.filter(household=household))


def pets_clear(pets: Any) -> list[str]:
    """The tags of these pets stay with their household, unlinked."""
    from pawfile.qr.services import pet_codes_detach

    pet_codes_detach(list(pets.values_list("pk", flat=True)))
    return []


def register() -> None:
    registry.register_export_section(app=APP, rows=export_rows)
    registry.register_deletion(
        app=APP, account=account_clear, household=household_clear, pets=pets_clear
    )
