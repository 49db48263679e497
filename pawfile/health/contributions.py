"""What the health app adds to the shared features (``pawfile.lib.registry``).

Called once from ``HealthConfig.ready``: the health records and attachments of a user's
export, the attachment files that go with deleted pets, the health panel of the pet page, the
due badge of the pet list and the "Health records" card of the landing page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from pawfile.accounts.models import User
from pawfile.health import selectors
from pawfile.health.choices import OPTIONAL_FIELDS
from pawfile.health.models import Attachment
from pawfile.lib import registry
from pawfile.lib.registry import ArchiveFile, ExportSection
from pawfile.pets import selectors as pet_selectors
from pawfile.pets.models import Pet

APP = "health"

# Fields of each row in the export (docs/export-format.md).
RECORD_FIELDS = (
    "id", "pet_id", "kind", "date", "notes", *OPTIONAL_FIELDS, "created_by_id", "created_at",
    "updated_at",
)  # fmt: skip
ATTACHMENT_FIELDS = (
    "id", "record_id", "key", "original_name", "content_type", "size", "uploaded_by_id",
    "created_at",
)  # fmt: skip


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def export_rows(user: User) -> ExportSection:
    """``health_records`` and ``attachments`` of every pet ``user`` can see, and each
    attachment's stored file."""
    files: list[ArchiveFile] = []
    records: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    for pet in pet_selectors.pet_list(user=user).order_by("household_id", "pk"):
        for record in selectors.record_list(user=user, pet=pet).order_by("pk"):
            records.append(_row(record, RECORD_FIELDS))
            for attachment in record.attachments.all():
                name = str(attachment.file.name)
                files.append(ArchiveFile(name, f"files/{name}"))
                attachments.append({**_row(attachment, ATTACHMENT_FIELDS), "file": f"files/{name}"})
    return ExportSection(rows={"health_records": records, "attachments": attachments}, files=files)


def pets_files(pets: QuerySet[Pet]) -> list[str]:
    """The stored attachment files of these pets' records (deleted with them)."""
    names = Attachment.objects.filter(record__pet__in=pets).values_list("file", flat=True)
    return [str(name) for name in names]


def pet_panel_context(request: HttpRequest, pet: Pet) -> Mapping[str, Any]:
    """``health.views.pet_panel_context`` (views are imported when first drawn, not while
    the apps load)."""
    from pawfile.health import views

    return views.pet_panel_context(request, pet)


def pet_badges(request: HttpRequest, pets: Sequence[Pet]) -> Mapping[int, Any]:
    """The due status of each pet of the list (``health.views.pet_due_summaries``)."""
    from pawfile.health import views

    return views.pet_due_summaries(request, pets)


def register() -> None:
    registry.register_export_section(app=APP, rows=export_rows)
    registry.register_deletion(app=APP, pets=pets_files)
    registry.register_pet_panel(
        app=APP,
        name="health",
        template="health/_pet_panel.html",
        context=pet_panel_context,
        order=10,
        cacheable=True,  # by the pet's revision, language, date and role (pets.dashboard)
    )
    registry.register_pet_badges(app=APP, badges=pet_badges)
    registry.register_landing_card(
        app=APP, name="records", template="health/cards/landing.html", order=20
    )
