"""``/api/v1/pets/{pet_id}/public``, ``/lost``, ``/found`` and ``/tags``: a pet's public
page, lost mode and tags.

Access is the pet's (``selectors``/``services`` decide): every member reads, owner and
caretaker change, a viewer gets 403 on a change, a stranger 404. Handlers only translate
HTTP to the services and selectors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja import Body, Router, Status
from pydantic import BaseModel

from pawfile.accounts.access import Action
from pawfile.accounts.apiauth import acting_user
from pawfile.lib.api import (
    LINE_PATTERN,
    Id,
    InputSchema,
    Instant,
    JsonBool,
    responses,
    set_fields,
    unset,
)
from pawfile.lostpet import selectors, services
from pawfile.lostpet.choices import ContactMode
from pawfile.lostpet.models import PublicProfile
from pawfile.qr import services as qr_services
from pawfile.qr.api import COLOUR, QRCodeOut
from pawfile.qr.choices import ErrorLevel
from pawfile.qr.models import FRAME_TEXT_MAX_LENGTH, QRCode
from pawfile.qr.style import MODULE_SIZES, QUIET_ZONES

router = Router(tags=["lost pets"])


class PublicOut(BaseModel):
    """A pet's public page settings. Until the page is made (the first change here, a tag,
    lost mode, or a poster or wallet card asked for by POST) ``slug``, ``url`` and
    ``updated_at`` are ``null`` and the rest are the defaults a new page gets: reading
    makes nothing."""

    pet_id: int
    slug: str | None
    url: str | None
    show_photo: bool
    show_species: bool
    show_sex: bool
    show_age: bool
    show_allergies: bool
    show_medication: bool
    show_special_needs: bool
    contact_mode: ContactMode
    public_message: str
    is_lost: bool
    lost_since: dt.datetime | None
    last_seen_at: dt.datetime | None
    last_seen_place: str
    reward: str
    lost_message: str
    found_at: dt.datetime | None
    updated_at: dt.datetime | None

    @classmethod
    def of(cls, profile: PublicProfile) -> PublicOut:
        names = [n for n in cls.model_fields if n not in ("url", "slug")]
        url = None
        if profile.slug:
            path = reverse("lostpet:public_page", kwargs={"slug": profile.slug})
            url = f"{settings.PAWFILE_BASE_URL}{path}"
        return cls.model_validate(
            {**{n: getattr(profile, n) for n in names}, "slug": profile.slug or None, "url": url}
        )


class PublicPatch(InputSchema):
    """Fields left out are not changed."""

    show_photo: JsonBool = unset()
    show_species: JsonBool = unset(description="Species and breed.")
    show_sex: JsonBool = unset()
    show_age: JsonBool = unset()
    show_allergies: JsonBool = unset()
    show_medication: JsonBool = unset(description="Current medication from health records.")
    show_special_needs: JsonBool = unset()
    contact_mode: ContactMode = unset(
        description="`shown`: the contacts marked `show_on_public_page`; `form`: only the "
        "finder form."
    )
    public_message: str = unset(max_length=280)


class LostIn(InputSchema):
    last_seen_at: Instant | None = None
    last_seen_place: str = unset(max_length=200, pattern=LINE_PATTERN)
    reward: str = unset(max_length=120, pattern=LINE_PATTERN)
    lost_message: str = unset(max_length=500)


class TagIn(InputSchema):
    """Every field is optional: an empty body (or none) makes a black-on-white tag titled
    "<name> tag"."""

    title: str = unset(min_length=1, max_length=120, pattern=LINE_PATTERN)
    fg_color: str = unset(pattern=COLOUR)
    bg_color: str = unset(pattern=COLOUR)
    module_size: int = unset(ge=MODULE_SIZES[0], le=MODULE_SIZES[1])
    quiet_zone: int = unset(ge=QUIET_ZONES[0], le=QUIET_ZONES[1])
    error_level: ErrorLevel = unset()
    frame_text: str = unset(max_length=FRAME_TEXT_MAX_LENGTH, pattern=LINE_PATTERN)


class TagOut(QRCodeOut):
    pet_id: int | None

    @classmethod
    def of(cls, code: QRCode) -> TagOut:
        base = QRCodeOut.of(code)
        return cls.model_validate({**base.model_dump(), "pet_id": code.target_ref})


class TagList(BaseModel):
    items: list[TagOut]


def _profile(
    request: HttpRequest, pet_id: int, action: Action = Action.VIEW, *, make: bool = True
) -> PublicProfile:
    return selectors.profile_get(user=acting_user(request), pet_id=pet_id, action=action, make=make)


@router.get(
    "/pets/{pet_id}/public",
    response=responses({200: PublicOut}),
    summary="A pet's public page settings",
)
def public_get(request: HttpRequest, pet_id: Id) -> PublicOut:
    """What the public page shows and whether the pet is lost. Reading makes nothing: a
    pet without a page yet answers the defaults with `slug`, `url` and `updated_at` null."""
    return PublicOut.of(_profile(request, pet_id, make=False))


@router.patch(
    "/pets/{pet_id}/public",
    response=responses({200: PublicOut}),
    summary="Change what a pet's public page shows",
)
def public_patch(request: HttpRequest, pet_id: Id, payload: PublicPatch) -> PublicOut:
    profile = _profile(request, pet_id, Action.WRITE)
    profile = services.profile_update(
        actor=acting_user(request), pet=profile.pet, **set_fields(payload)
    )
    return PublicOut.of(profile)


@router.post("/pets/{pet_id}/lost", response=responses({200: PublicOut}), summary="Mark lost")
def lost(request: HttpRequest, pet_id: Id, payload: LostIn) -> PublicOut:
    """Lost mode on (or new details while lost): the public page shows the banner, and each
    scan of the pet's tags alerts its owners and caretakers. The body is the whole report:
    a field left out is cleared (`lost_since` stays while the pet is lost)."""
    profile = _profile(request, pet_id, Action.WRITE)
    fields: dict[str, Any] = set_fields(payload)
    profile = services.lost_mark(actor=acting_user(request), pet=profile.pet, **fields)
    return PublicOut.of(profile)


@router.post("/pets/{pet_id}/found", response=responses({200: PublicOut}), summary="Mark found")
def found(request: HttpRequest, pet_id: Id) -> PublicOut:
    """Lost mode off: the banner goes, `found_at` says when. Idempotent."""
    profile = _profile(request, pet_id, Action.WRITE)
    return PublicOut.of(services.found_mark(actor=acting_user(request), pet=profile.pet))


@router.get("/pets/{pet_id}/tags", response=responses({200: TagList}), summary="A pet's tags")
def tag_list(request: HttpRequest, pet_id: Id) -> TagList:
    """The QR codes leading to the pet's public page, oldest first, each with its scan
    address and image addresses."""
    profile = _profile(request, pet_id, make=False)
    codes = selectors.tags_of_pet(user=acting_user(request), pet=profile.pet)
    return TagList(items=[TagOut.of(code) for code in codes])


@router.post("/pets/{pet_id}/tags", response=responses({201: TagOut}), summary="Make a tag")
def tag_create(
    request: HttpRequest, pet_id: Id, payload: Body[TagIn | None] = None
) -> Status[TagOut]:
    """A new tag (QR code) leading to the pet's public page; an empty body takes the
    defaults."""
    profile = _profile(request, pet_id, Action.WRITE)
    fields = set_fields(payload) if payload is not None else {}
    code = qr_services.pet_code_create(actor=acting_user(request), pet=profile.pet, **fields)
    return Status(201, TagOut.of(code))
