"""``/api/v1/notifications``: the caller's inbox. Only the recipient sees or changes a
notification (anyone else's is 404); every change is a POST, PATCH or DELETE."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict, Field

from pawfile.accounts.apiauth import acting_user
from pawfile.lib.api import Id, InputSchema, responses
from pawfile.lib.pagination import Page, PageQuery, paginate
from pawfile.notifications import selectors, services
from pawfile.notifications.choices import Kind

router = Router(tags=["notifications"])

NO_CONTENT = responses({204: None})


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str
    link: str
    actor_id: int | None
    pet_id: int | None
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationFilters(PageQuery):
    unread: bool = Field(False, description="Only unread notifications.")
    kind: Kind | None = Field(None, description="Only this kind.")


class UnreadOut(Schema):
    unread: int


class NotificationPatch(InputSchema):
    read: bool = Field(description="true marks it read, false unread again.")


class ReadAllOut(Schema):
    marked: int


@router.get(
    "/notifications",
    response=responses({200: Page[NotificationOut]}),
    summary="Your notifications",
)
def notification_list(request: HttpRequest, filters: Query[NotificationFilters]) -> dict[str, Any]:
    """Your inbox, newest first."""
    rows = selectors.inbox(
        user=acting_user(request),
        unread=filters.unread,
        kind=filters.kind.value if filters.kind else "",
    )
    return paginate(rows, filters, order=("-id",))


@router.get(
    "/notifications/unread-count", response=responses({200: UnreadOut}), summary="Unread count"
)
def notification_unread_count(request: HttpRequest) -> dict[str, int]:
    return {"unread": selectors.unread_count(user=acting_user(request))}


@router.post(
    "/notifications/read-all", response=responses({200: ReadAllOut}), summary="Mark all read"
)
def notification_read_all(request: HttpRequest) -> dict[str, int]:
    return {"marked": services.notifications_mark_all_read(user=acting_user(request))}


@router.get(
    "/notifications/{notification_id}",
    response=responses({200: NotificationOut}),
    summary="A notification",
)
def notification_detail(request: HttpRequest, notification_id: Id) -> Any:
    from pawfile.lib.errors import NotFound

    found = selectors.inbox(user=acting_user(request)).filter(pk=notification_id).first()
    if found is None:
        raise NotFound()
    return found


@router.patch(
    "/notifications/{notification_id}",
    response=responses({200: NotificationOut}),
    summary="Mark a notification read or unread",
)
def notification_update(
    request: HttpRequest, notification_id: Id, payload: NotificationPatch
) -> Any:
    return services.notification_mark_read(
        user=acting_user(request), notification_id=notification_id, read=payload.read
    )


@router.delete(
    "/notifications/{notification_id}", response=NO_CONTENT, summary="Delete a notification"
)
def notification_delete(request: HttpRequest, notification_id: Id) -> Status[None]:
    services.notification_delete(user=acting_user(request), notification_id=notification_id)
    return Status(204, None)
