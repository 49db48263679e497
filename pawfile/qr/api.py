"""``/api/v1/qrcodes``: generic dynamic QR codes for QR managers.

Every call first checks the client address against ``PAWFILE_QR_ADMIN_ALLOWED_IPS`` (403,
code ``address_not_allowed``), then the caller's ``qr.qr_manager`` permission (403 on the
collection, 404 on a code). Handlers only translate HTTP to the services and selectors.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict, StrictInt

from pawfile.accounts.apiauth import acting_user
from pawfile.lib.api import (
    AS_INTEGER,
    LINE_PATTERN,
    InputSchema,
    Instant,
    JsonBool,
    JsonInt,
    responses,
    set_fields,
    unset,
)
from pawfile.lib.dates import user_today
from pawfile.lib.pagination import Page, PageQuery, paginate
from pawfile.qr import access, images, selectors, services
from pawfile.qr.choices import ErrorLevel
from pawfile.qr.models import FRAME_TEXT_MAX_LENGTH, TARGET_MAX_LENGTH, QRCode
from pawfile.qr.style import MODULE_SIZES, QUIET_ZONES

router = Router(tags=["qrcodes"])
CODE_ID = r"^[0-9a-z]{1,16}$"
ScanLimit = Annotated[StrictInt, Field(ge=1, le=services.MAX_SCAN_LIMIT), AS_INTEGER]
COLOUR = r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$"


class ImageUrls(Schema):
    png: str
    svg: str
    pdf: str


class QRCodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    target_kind: str
    target_url: str
    is_active: bool
    expires_at: dt.datetime | None
    scan_limit: int | None
    scan_count: int
    last_scan_at: dt.datetime | None
    fg_color: str
    bg_color: str
    module_size: int
    quiet_zone: int
    error_level: str
    frame_text: str
    has_logo: bool
    scan_url: str = Field(description="The address printed codes lead through (`…/r/{id}`).")
    image_urls: ImageUrls
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, code: QRCode) -> QRCodeOut:
        base = f"{images.scan_url(code).rsplit('/r/', 1)[0]}/q/{code.id}"
        tag = images.image_etag(code).strip('"')
        return cls.model_validate(
            {
                **{name: getattr(code, name) for name in cls.model_fields if hasattr(code, name)},
                "has_logo": bool(code.logo),
                "scan_url": images.scan_url(code),
                "image_urls": {kind: f"{base}.{kind}?v={tag}" for kind in ("png", "svg", "pdf")},
            }
        )


QRCodePage = Page[QRCodeOut]


class QRCodePatch(InputSchema):
    """Fields left out are not changed."""

    title: str = unset(min_length=1, max_length=120, pattern=LINE_PATTERN)
    target_url: str = unset(
        min_length=1,
        max_length=TARGET_MAX_LENGTH,
        description="An absolute http or https address (no user name or password; "
        "`PAWFILE_QR_ALLOWED_DOMAINS` may restrict the hosts).",
    )
    is_active: JsonBool = unset()
    expires_at: Instant | None = unset(description="After this instant the code answers 410.")
    scan_limit: ScanLimit | None = unset(description="Scans allowed; then the code answers 410.")
    fg_color: str = unset(pattern=COLOUR)
    bg_color: str = unset(pattern=COLOUR)
    module_size: JsonInt = unset(ge=MODULE_SIZES[0], le=MODULE_SIZES[1])
    quiet_zone: JsonInt = unset(ge=QUIET_ZONES[0], le=QUIET_ZONES[1])
    error_level: ErrorLevel = unset()
    frame_text: str = unset(max_length=FRAME_TEXT_MAX_LENGTH, pattern=LINE_PATTERN)


class QRCodeCreate(QRCodePatch):
    title: str = Field(min_length=1, max_length=120, pattern=LINE_PATTERN)
    target_url: str = Field(min_length=1, max_length=TARGET_MAX_LENGTH)


class DayOut(Schema):
    day: dt.date
    scans: int
    genuine: int
    unique: int


class ScansOut(Schema):
    total: int
    genuine: int
    last_scan_at: dt.datetime | None
    days: list[DayOut]


def _manager(request: HttpRequest, *, collection: bool = False) -> Any:
    access.address_check(request)
    user = acting_user(request)
    access.manager_check(user, collection=collection)
    return user


CodeId = Annotated[str, Path(pattern=CODE_ID, max_length=16)]


@router.get("/qrcodes", response=responses({200: QRCodePage}), summary="Generic QR codes")
def code_list(request: HttpRequest, page: Query[PageQuery]) -> BaseModel:
    """Newest first."""
    user = _manager(request, collection=True)
    found = paginate(selectors.code_list(user=user), page, order=("-created_at", "-id"))
    return QRCodePage.model_validate(
        {"items": [QRCodeOut.of(c) for c in found["items"]], "next": found["next"]}
    )


@router.post("/qrcodes", response=responses({201: QRCodeOut}), summary="Create a QR code")
def code_create(request: HttpRequest, payload: QRCodeCreate) -> Status[QRCodeOut]:
    """A new code leading to `target_url`; its images use the style given (defaults: black
    on white, 10 px modules, quiet zone 4, error correction M)."""
    user = _manager(request, collection=True)
    code = services.code_create(actor=user, **set_fields(payload))
    return Status(201, QRCodeOut.of(code))


@router.get("/qrcodes/{code_id}", response=responses({200: QRCodeOut}), summary="A QR code")
def code_detail(request: HttpRequest, code_id: CodeId) -> QRCodeOut:
    user = _manager(request)
    return QRCodeOut.of(selectors.code_get(user=user, code_id=code_id))


@router.patch(
    "/qrcodes/{code_id}", response=responses({200: QRCodeOut}), summary="Change a QR code"
)
def code_update(request: HttpRequest, code_id: CodeId, payload: QRCodePatch) -> QRCodeOut:
    """Retarget, switch off or on, restyle. Every web process serves the change within a
    second."""
    user = _manager(request)
    selectors.code_get(user=user, code_id=code_id)
    return QRCodeOut.of(services.code_update(actor=user, code_id=code_id, **set_fields(payload)))


@router.delete("/qrcodes/{code_id}", response=responses({204: None}), summary="Delete a QR code")
def code_delete(request: HttpRequest, code_id: CodeId) -> Status[None]:
    """Deletes the code and its scans; its address then answers 404."""
    user = _manager(request)
    services.code_delete(actor=user, code_id=code_id)
    return Status(204, None)


@router.get(
    "/qrcodes/{code_id}/scans", response=responses({200: ScansOut}), summary="Scans of a QR code"
)
def code_scans(request: HttpRequest, code_id: CodeId) -> ScansOut:
    """Totals, the last scan, and per-day counts for the last 30 days in your time zone
    (`genuine`: from the printed code, not a bot; `unique`: distinct visitors that day)."""
    user = _manager(request)
    code = selectors.code_get(user=user, code_id=code_id)
    summary = selectors.scan_summary(code=code, today=user_today(user))
    return ScansOut.model_validate(summary, from_attributes=True)
