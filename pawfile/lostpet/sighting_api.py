"""``/api/v1`` endpoints of finder reports (sightings) for the pet's household.

Mounted in ``pawfile.config.api``. Every member may list a pet's reports; owners and
caretakers mark them read, answer (relayed by email to the finder) and delete them; a viewer
gets 403 for those, anyone outside the household 404. The finder's name, phone and email are
``null`` unless the finder chose to share them. Finders themselves report through the public
page's form (``/p/{slug}/found/``), not through this API.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from pawfile.accounts.apiauth import acting_user
from pawfile.lib.api import Id, InputSchema, JsonBool, responses
from pawfile.lostpet import sightings
from pawfile.lostpet.models import Sighting, SightingReply

router = Router(tags=["sightings"])


class ReplyOut(Schema):
    id: int
    body: str
    mailed: bool = Field(description="Whether it was mailed to the finder.")
    created_at: dt.datetime

    @classmethod
    def of(cls, reply: SightingReply) -> ReplyOut:
        return cls(id=reply.pk, body=reply.body, mailed=reply.mailed, created_at=reply.created_at)


class SightingOut(Schema):
    id: int
    pet_id: int
    source: str = Field(description="`report` (the finder's form) or `scan` (a tag scan).")
    created_at: dt.datetime
    message: str
    place_text: str
    latitude: Decimal | None
    longitude: Decimal | None
    map_url: str | None = Field(description="OpenStreetMap, when the finder shared a point.")
    photo_url: str | None = Field(description="The finder's photo (same authentication).")
    finder_name: str | None
    finder_phone: str | None
    finder_email: str | None
    can_reply: bool = Field(description="The finder left an email the answer is relayed to.")
    read_at: dt.datetime | None
    replies: list[ReplyOut]

    @classmethod
    def of(cls, s: Sighting) -> SightingOut:
        from django.urls import reverse

        contact = sightings.finder_contact(s)
        return cls(
            id=s.pk, pet_id=s.profile.pet_id, source=s.source, created_at=s.created_at,
            message=s.message, place_text=s.place_text, latitude=s.latitude,
            longitude=s.longitude, map_url=sightings.map_url(s.latitude, s.longitude) or None,
            photo_url=reverse("lostpet:sighting_photo", kwargs={"sighting_id": s.pk})
            if s.photo else None,
            finder_name=contact["name"] or None, finder_phone=contact["phone"] or None,
            finder_email=contact["email"] or None, can_reply=bool(s.finder_email),
            read_at=s.read_at, replies=[ReplyOut.of(r) for r in s.replies.all()],
        )  # fmt: skip


class ReadIn(InputSchema):
    read: JsonBool = True


class ReplyIn(InputSchema):
    body: str = Field(min_length=1, max_length=sightings.REPLY_MAX)


@router.get(
    "/pets/{pet_id}/sightings",
    response=responses({200: list[SightingOut]}),
    summary="Reports about a pet from finders",
)
def sighting_list(request: HttpRequest, pet_id: Id) -> list[SightingOut]:
    """Newest first, at most 200."""
    _pet, rows = sightings.sighting_list(user=acting_user(request), pet_id=pet_id)
    return [SightingOut.of(s) for s in rows.select_related("profile")[:200]]


@router.get(
    "/sightings/{sighting_id}",
    response=responses({200: SightingOut}),
    summary="One report from a finder",
)
def sighting_get(request: HttpRequest, sighting_id: Id) -> SightingOut:
    return SightingOut.of(
        sightings.sighting_get(user=acting_user(request), sighting_id=sighting_id)
    )


@router.post(
    "/sightings/{sighting_id}/read",
    response=responses({200: SightingOut}),
    summary="Mark a report read or unread",
)
def sighting_read(request: HttpRequest, sighting_id: Id, payload: ReadIn) -> SightingOut:
    sighting = sightings.sighting_mark_read(
        actor=acting_user(request), sighting_id=sighting_id, read=bool(payload.read)
    )
    return SightingOut.of(sighting)


@router.post(
    "/sightings/{sighting_id}/replies",
    response=responses({201: ReplyOut}),
    summary="Answer a finder",
)
def sighting_reply(request: HttpRequest, sighting_id: Id, payload: ReplyIn) -> Status:
    """Stored, and mailed to the finder if they left an email (`mailed`). Your address is
    never in the mail."""
    reply = sightings.sighting_reply(
        actor=acting_user(request), sighting_id=sighting_id, body=payload.body
    )
    return Status(201, ReplyOut.of(reply))


@router.delete(
    "/sightings/{sighting_id}",
    response=responses({204: None}),
    summary="Delete a report",
)
def sighting_delete(request: HttpRequest, sighting_id: Id) -> Status:
    sightings.sighting_delete(actor=acting_user(request), sighting_id=sighting_id)
    return Status(204, None)
