"""What the QR codes app adds to the shared features (``pawfile.lib.registry``).

Export: the codes a user owns (generic codes they made, and their households' codes) with
their scans (``qr_codes``, ``qr_scans``). Deletion: an account takes the generic codes it
owns; a household its codes (the database cascade would too; the logo files are named here
so they go after commit). Scans go with their code.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from pawfile.lib import registry
from pawfile.lib.registry import ExportSection
from pawfile.qr.models import QRCode, Scan

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
    "created_at",
    "updated_at",
)
SCAN_FIELDS = ("code_id", "at", "genuine", "bot", "referrer_host")


def _owned(user: Any) -> Q:
    households = user.memberships.values("household_id")
    return Q(owner_user=user) | Q(household__in=households)


def export_rows(user: Any) -> ExportSection:
    codes = list(QRCode.objects.filter(_owned(user)).order_by("created_at", "id"))
    scans = Scan.objects.filter(code__in=[c.id for c in codes]).order_by("code_id", "at", "id")
    return ExportSection(
        rows={
            "qr_codes": [{name: getattr(c, name) for name in CODE_FIELDS} for c in codes],
            "qr_scans": [{name: getattr(s, name) for name in SCAN_FIELDS} for s in scans],
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


def register() -> None:
    registry.register_export_section(app=APP, rows=export_rows)
    registry.register_deletion(app=APP, account=account_clear, household=household_clear)
