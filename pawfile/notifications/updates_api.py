"""``/api/v1`` for pet updates: send one about a pet (anyone who may see the pet; strangers
get 404), ask for a draft, list the updates you received, mute and unmute a sender."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict, Field

from pawfile.accounts.apiauth import acting_user
from pawfile.lib.api import Id, InputSchema, responses
from pawfile.lib.pagination import Page, PageQuery, paginate
from pawfile.notifications import ai, updates
from pawfile.notifications.models import PetUpdate

router = Router(tags=["pet updates"])

NO_CONTENT = responses({204: None})
# As ``updates._check_text`` accepts them: something besides spaces; the title one line
# (``LINE_PATTERN``), the text several lines but no other control characters.
_LINE = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
TITLE_PATTERN = rf"^{_LINE}*[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]{_LINE}*$"
_TEXT = r"[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f]"
BODY_PATTERN = rf"^{_TEXT}*[^\s\x00-\x1f\x7f]{_TEXT}*$"


class PetUpdateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    pet_id: int
    sender_id: int | None
    title: str
    body: str
    photo_url: str | None = Field(None, description="The photo (signed-in, access-checked).")
    drafted: str = Field(description="sender, ai or template")
    created_at: dt.datetime


class PetUpdateIn(InputSchema):
    title: str = Field(min_length=1, max_length=updates.TITLE_MAX, pattern=TITLE_PATTERN)
    body: str = Field(
        min_length=1,
        max_length=updates.BODY_MAX,
        pattern=BODY_PATTERN,
        description="Lines of text.",
    )
    photo_id: Id | None = Field(None, description="One of the pet's photos to show with it.")
    drafted: PetUpdate.Drafted = Field(
        PetUpdate.Drafted.SENDER, description="Who wrote the text (from a draft: ai, template)."
    )


class DraftIn(InputSchema):
    note: str = Field("", max_length=ai.NOTE_MAX, description="What happened, in a few words.")


class DraftOut(Schema):
    title: str
    body: str
    source: str = Field(description="ai or template")


class MuteOut(Schema):
    sender_id: int
    muted: bool


def _out(update: PetUpdate) -> dict[str, Any]:
    from pawfile.pets.photos import photo_url

    return {
        "id": update.pk,
        "pet_id": update.pet_id,
        "sender_id": update.sender_id,
        "title": update.title,
        "body": update.body,
        "photo_url": photo_url(update.photo, "full") if update.photo is not None else None,
        "drafted": update.drafted,
        "created_at": update.created_at,
    }


@router.post(
    "/pets/{pet_id}/updates",
    response=responses({201: PetUpdateOut}),
    summary="Send an update about a pet",
)
def pet_update_create(request: HttpRequest, pet_id: Id, payload: PetUpdateIn) -> Any:
    """Sends the update to the pet's household (everyone but you who has not muted you),
    on their own channels. 429 past your limit of updates."""
    update = updates.pet_update_send(
        sender=acting_user(request),
        pet_id=pet_id,
        title=payload.title,
        body=payload.body,
        photo_id=payload.photo_id,
        drafted=payload.drafted.value,
    )
    return Status(201, _out(update))


@router.post(
    "/pets/{pet_id}/updates/draft",
    response=responses({200: DraftOut}),
    summary="Draft an update",
)
def pet_update_draft(request: HttpRequest, pet_id: Id, payload: DraftIn) -> dict[str, str]:
    """A title (≤ 30 characters) and text (≤ 100) from the site's AI provider, or from a
    template when there is none or it fails. Nothing is sent."""
    draft = updates.update_draft(user=acting_user(request), pet_id=pet_id, note=payload.note)
    return {"title": draft.title, "body": draft.body, "source": draft.source}


@router.get(
    "/updates", response=responses({200: Page[PetUpdateOut]}), summary="Updates you received"
)
def pet_update_list(request: HttpRequest, filters: Query[PageQuery]) -> dict[str, Any]:
    page = paginate(updates.updates_received(user=acting_user(request)), filters, order=("-id",))
    page["items"] = [_out(item) for item in page["items"]]
    return page


@router.get("/updates/mutes", response=responses({200: list[MuteOut]}), summary="Muted senders")
def mute_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"sender_id": m.sender_id, "muted": True}
        for m in updates.mutes_of(user=acting_user(request))
    ]


@router.put("/updates/mutes/{user_id}", response=responses({200: MuteOut}), summary="Mute a sender")
def mute_put(request: HttpRequest, user_id: Id) -> dict[str, Any]:
    """Stop getting pet updates from ``user_id`` (someone in one of your households)."""
    updates.update_mute(user=acting_user(request), sender_id=user_id, mute=True)
    return {"sender_id": user_id, "muted": True}


@router.get("/updates/{update_id}", response=responses({200: PetUpdateOut}), summary="One update")
def pet_update_detail(request: HttpRequest, update_id: Id) -> dict[str, Any]:
    return _out(updates.update_get(user=acting_user(request), update_id=update_id))


@router.delete("/updates/mutes/{user_id}", response=NO_CONTENT, summary="Unmute a sender")
def mute_delete(request: HttpRequest, user_id: Id) -> Status[None]:
    updates.update_mute(user=acting_user(request), sender_id=user_id, mute=False)
    return Status(204, None)
