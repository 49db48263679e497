"""``/api/v1`` endpoints for health records, weights and attachments.

A record's kind decides which fields it takes (``health.choices.FIELDS``): the request bodies
have one shape per kind (``health.schemas``), and the document shows them. A PATCH is checked
against the stored record's kind by ``health.services`` (422 naming the fields of another kind).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile
from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from pawfile.accounts.access import Action
from pawfile.accounts.apiauth import acting_user
from pawfile.health import selectors, services
from pawfile.health.choices import DueStatus, Kind
from pawfile.health.models import Attachment, HealthRecord
from pawfile.health.schemas import RecordCreate, RecordPatch
from pawfile.lib.api import (
    Date,
    Id,
    InputSchema,
    JsonFloat,
    fields_renamed,
    form_unknown_refuse,
    optional,
    responses,
    set_fields,
)
from pawfile.lib.dates import user_today
from pawfile.lib.errors import Invalid
from pawfile.lib.openapi import file_response
from pawfile.lib.pagination import Page, PageQuery, paginate
from pawfile.pets.models import Pet
from pawfile.pets.selectors import pet_get

router = Router(tags=["health"])

NO_CONTENT = responses({204: None})
# What ``lib.documents.document_check`` stores: PDFs as they came, images re-encoded.
ATTACHMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")


# --- Schemas -------------------------------------------------------------------------------


class AttachmentOut(Schema):
    id: int
    record_id: int
    original_name: str
    content_type: str
    size: int
    created_at: dt.datetime
    url: str = Field(description="Download address (same authentication as the API).")

    @staticmethod
    def resolve_url(obj: Attachment) -> str:
        return reverse("api:attachment_file", kwargs={"attachment_id": obj.pk})


class RecordOut(BaseModel):
    """A plain pydantic model (validated in pydantic's core); built from a ``HealthRecord``
    by ``_from_record``, which adds the due status and the attachments."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    pet_id: int
    kind: str
    date: dt.date
    name: str
    notes: str
    manufacturer: str
    batch: str
    next_due: dt.date | None
    deworming_scope: str
    vet_name: str
    clinic: str
    dose: str
    frequency: str
    end_date: dt.date | None
    diagnosis: str
    cost: Decimal | None
    currency: str
    severity: str
    result: str
    weight_grams: int | None
    due_status: DueStatus = Field(
        description=(
            "Vaccinations and dewormings, on the caller's own date (their time zone): "
            "`overdue`, `due_soon`, `up_to_date`, `none` (no next due date), or `replaced` "
            "when a later record of the same vaccine or product supersedes this one (a "
            "booster), whatever its own `next_due` says. The same answer the web pages and "
            "the PDF report give. Other kinds: `none`."
        )
    )
    attachments: list[AttachmentOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @model_validator(mode="before")
    @classmethod
    def _from_record(cls, obj: Any, info: ValidationInfo) -> Any:
        if not isinstance(obj, HealthRecord):
            return obj
        values = {name: getattr(obj, name) for name in RECORD_OUT_ATTRIBUTES}
        # Set by ``_with_due_status`` (the status needs the caller's date and the other
        # records of the pet); a record that has none is of a kind without due dates.
        values["due_status"] = getattr(obj, "due_status", DueStatus.NONE)
        # A record just created has none: its handler says so in the validation context
        # (``{"attachments": []}``) rather than have the database asked.
        known = info.context.get("attachments") if isinstance(info.context, dict) else None
        values["attachments"] = list(obj.attachments.all()) if known is None else known
        return values


RECORD_OUT_ATTRIBUTES = tuple(
    name for name in RecordOut.model_fields if name not in ("due_status", "attachments")
)


class RecordFilters(PageQuery):
    kind: list[Kind] | None = optional(description="Only these kinds (repeat the parameter).")
    date_from: Date | None = optional()
    date_to: Date | None = optional()
    ordering: Literal["date", "-date"] = "-date"


class WeightOut(Schema):
    id: int
    date: dt.date
    grams: int
    value: float = Field(description="The weight in the pet's unit.")
    unit: str
    notes: str


class WeightIn(InputSchema):
    # Bounds that hold in both units: 0.01 kg is 10 g, 2,000 kg is the service's limit
    # (``MAX_GRAMS``) and 2,000 lb is under it; inside them every value is stored.
    value: JsonFloat = Field(
        ge=0.01, le=2_000, description="In `unit`; stored as whole grams (0.01 to 2,000)."
    )
    unit: Literal["kg", "lb"]
    date: Date | None = None
    notes: str = Field("", max_length=5000)


def _weight_out(record: HealthRecord, unit: str) -> dict[str, Any]:
    grams = int(record.weight_grams or 0)
    value = services.weight_from_grams(grams, unit, places=3 if unit == "kg" else 2)
    return {
        "id": record.pk, "date": record.date, "grams": grams, "unit": unit, "notes": record.notes,
        "value": float(value),
    }  # fmt: skip


def _ordering(ordering: str) -> tuple[str, str]:
    return ("date", "id") if ordering == "date" else ("-date", "-id")


def _pet(request: HttpRequest, pet_id: int, action: Action = Action.VIEW) -> Pet:
    return pet_get(user=acting_user(request), pet_id=pet_id, action=action)


def _with_due_status(request: HttpRequest, records: list[HealthRecord]) -> list[HealthRecord]:
    """``records`` with the ``due_status`` ``RecordOut`` shows: the status the pages give,
    on the caller's own date (``health.selectors.record_due_statuses``)."""
    today = user_today(acting_user(request))
    statuses = selectors.record_due_statuses(records=records, today=today)
    for record in records:
        record.due_status = statuses.get(record.pk, DueStatus.NONE)  # type: ignore[attr-defined]
    return records


# --- Records -------------------------------------------------------------------------------


@router.get(
    "/pets/{pet_id}/records",
    response=responses({200: Page[RecordOut]}),
    summary="A pet's health records",
)
def record_list(request: HttpRequest, pet_id: Id, filters: Query[RecordFilters]) -> dict[str, Any]:
    pet = _pet(request, pet_id)
    kinds = [str(kind) for kind in filters.kind] if filters.kind else None
    records = selectors.record_list(user=acting_user(request), pet=pet, kinds=kinds)
    if filters.date_from:
        records = records.filter(date__gte=filters.date_from)
    if filters.date_to:
        records = records.filter(date__lte=filters.date_to)
    page = paginate(records, filters, order=_ordering(filters.ordering))
    _with_due_status(request, page["items"])
    return page


@router.post(
    "/pets/{pet_id}/records", response=responses({201: RecordOut}), summary="Add a health record"
)
def record_create(request: HttpRequest, pet_id: Id, payload: RecordCreate) -> Status[RecordOut]:
    """Give ``kind`` and the fields of that kind; ``date`` defaults to today."""
    fields = set_fields(payload)
    user = acting_user(request)
    # The gate (404 for strangers, 403 for viewers) returns the pet with its decision
    # attached, which the service trusts instead of asking again.
    pet = pet_get(user=user, pet_id=pet_id, action=Action.WRITE)
    record = services.record_create(actor=user, pet=pet, kind=fields.pop("kind"), **fields)
    # On PostgreSQL the INSERT itself read what the status needs: no query here.
    record.due_status = selectors.created_record_due_status(  # type: ignore[attr-defined]
        record=record, today=user_today(user)
    )
    return Status(201, RecordOut.model_validate(record, context={"attachments": []}))


@router.get("/records/{record_id}", response=responses({200: RecordOut}), summary="A record")
def record_detail(request: HttpRequest, record_id: Id) -> HealthRecord:
    record = selectors.record_get(user=acting_user(request), record_id=record_id)
    return _with_due_status(request, [record])[0]


@router.patch(
    "/records/{record_id}", response=responses({200: RecordOut}), summary="Change a record"
)
def record_update(request: HttpRequest, record_id: Id, payload: RecordPatch) -> HealthRecord:
    user = acting_user(request)
    record = selectors.record_get(user=user, record_id=record_id, action=Action.WRITE)
    record = services.record_update(actor=user, record=record, **set_fields(payload))
    return _with_due_status(request, [record])[0]


@router.delete("/records/{record_id}", response=NO_CONTENT, summary="Delete a record")
def record_delete(request: HttpRequest, record_id: Id) -> Status[None]:
    user = acting_user(request)
    record = selectors.record_get(user=user, record_id=record_id, action=Action.WRITE)
    services.record_delete(actor=user, record=record)
    return Status(204, None)


# --- Weights -------------------------------------------------------------------------------


class WeightFilters(PageQuery):
    ordering: Literal["date", "-date"] = "-date"


@router.get(
    "/pets/{pet_id}/weights",
    response=responses({200: Page[WeightOut]}),
    summary="A pet's weights",
)
def weight_list(request: HttpRequest, pet_id: Id, filters: Query[WeightFilters]) -> dict[str, Any]:
    """Each weight in grams and in the pet's unit (``weight_unit``)."""
    pet = _pet(request, pet_id)
    records = selectors.record_list(user=acting_user(request), pet=pet, kinds=[Kind.WEIGHT])
    page = paginate(records, filters, order=_ordering(filters.ordering))
    page["items"] = [_weight_out(r, pet.weight_unit) for r in page["items"]]
    return page


@router.post(
    "/pets/{pet_id}/weights", response=responses({201: WeightOut}), summary="Record a weight"
)
def weight_create(request: HttpRequest, pet_id: Id, payload: WeightIn) -> Status[dict[str, Any]]:
    user = acting_user(request)
    pet = _pet(request, pet_id, Action.WRITE)
    try:
        record = services.weight_record(
            actor=user, pet=pet, value=payload.value, unit=payload.unit, date=payload.date,
            notes=payload.notes,
        )  # fmt: skip
    except Invalid as exc:
        raise fields_renamed(exc, {"weight": "value", "weight_grams": "value"}) from None
    return Status(201, _weight_out(record, pet.weight_unit))


# --- Attachments ---------------------------------------------------------------------------


@router.get(
    "/records/{record_id}/attachments",
    response=responses({200: Page[AttachmentOut]}),
    summary="Files attached to a record",
)
def attachment_list(request: HttpRequest, record_id: Id, page: Query[PageQuery]) -> dict[str, Any]:
    record = selectors.record_get(user=acting_user(request), record_id=record_id)
    return paginate(record.attachments.all(), page, order=("created_at", "id"))


@router.post(
    "/records/{record_id}/attachments",
    response=responses({201: AttachmentOut}),
    summary="Attach a PDF or an image",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {"additionalProperties": False},  # form_unknown_refuse
                }
            }
        }
    },
)
def attachment_upload(
    request: HttpRequest, record_id: Id, file: File[UploadedFile]
) -> Status[Attachment]:
    """A PDF (checked by structure) or an image (re-encoded, no metadata kept); 15 MB at most."""
    user = acting_user(request)
    record = selectors.record_get(user=user, record_id=record_id, action=Action.WRITE)
    form_unknown_refuse(request)
    attachment = services.attachment_add(
        actor=user, record=record, upload=file, filename=file.name or ""
    )
    return Status(201, attachment)


@router.get(
    "/attachments/{attachment_id}", response=responses({200: AttachmentOut}), summary="A file"
)
def attachment_detail(request: HttpRequest, attachment_id: Id) -> Attachment:
    return selectors.attachment_get(user=acting_user(request), attachment_id=attachment_id)


@router.get(
    "/attachments/{attachment_id}/file",
    response=responses({200: None}),
    summary="Download a file",
    openapi_extra=file_response(
        "The file, as a download: a PDF, or an image as it was stored (JPEG, or PNG when it "
        "has transparency); `content_type` of the attachment says which.",
        ATTACHMENT_TYPES,
    ),
)
def attachment_file(request: HttpRequest, attachment_id: Id) -> FileResponse:
    attachment = selectors.attachment_get(user=acting_user(request), attachment_id=attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["Cache-Control"] = "private, no-cache"
    return response


@router.delete("/attachments/{attachment_id}", response=NO_CONTENT, summary="Delete a file")
def attachment_delete(request: HttpRequest, attachment_id: Id) -> Status[None]:
    user = acting_user(request)
    attachment = selectors.attachment_get(
        user=user, attachment_id=attachment_id, action=Action.WRITE
    )
    services.attachment_delete(actor=user, attachment=attachment)
    return Status(204, None)
