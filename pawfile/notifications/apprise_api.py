"""``/api/v1/apprise-targets``: the caller's own Apprise addresses (masked), add one
(checked by Apprise, refused on a private address), send a test, delete. Anyone else's
target is 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from pawfile.accounts.apiauth import acting_user
from pawfile.lib.api import LINE_PATTERN, Id, InputSchema, responses
from pawfile.notifications.channels import apprise

router = Router(tags=["notifications"])

NO_CONTENT = responses({204: None})


class AppriseTargetOut(Schema):
    id: int
    masked: str = Field(description="Scheme and host only; the URL itself is never shown.")
    label: str
    created_at: dt.datetime
    last_sent_at: dt.datetime | None


class AppriseTargetIn(InputSchema):
    url: str = Field(min_length=1, max_length=2000, pattern=LINE_PATTERN)
    label: str = Field("", max_length=80, pattern=LINE_PATTERN)


class TestOut(Schema):
    sent: bool
    permanent: bool = Field(description="true: the stored address can no longer be used")


def _out(target: Any) -> dict[str, Any]:
    return {
        "id": target.pk,
        "masked": target.masked,
        "label": target.label,
        "created_at": target.created_at,
        "last_sent_at": target.last_sent_at,
    }


@router.get(
    "/apprise-targets",
    response=responses({200: list[AppriseTargetOut]}),
    summary="Your Apprise addresses",
)
def apprise_target_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(t) for t in apprise.targets_of(acting_user(request))]


@router.post(
    "/apprise-targets",
    response=responses({201: AppriseTargetOut}),
    summary="Add an Apprise address",
)
def apprise_target_create(request: HttpRequest, payload: AppriseTargetIn) -> Any:
    """422 when Apprise does not recognise the URL or it points into a private network."""
    target = apprise.apprise_target_add(
        user=acting_user(request), url=payload.url, label=payload.label
    )
    return Status(201, _out(target))


@router.post(
    "/apprise-targets/{target_id}/test",
    response=responses({200: TestOut}),
    summary="Send a test message now",
)
def apprise_target_test(request: HttpRequest, target_id: Id) -> dict[str, bool]:
    outcome = apprise.apprise_target_test(user=acting_user(request), target_id=target_id)
    return {"sent": outcome.ok, "permanent": outcome.permanent}


@router.delete(
    "/apprise-targets/{target_id}", response=NO_CONTENT, summary="Delete an Apprise address"
)
def apprise_target_delete(request: HttpRequest, target_id: Id) -> Status[None]:
    apprise.apprise_target_delete(user=acting_user(request), target_id=target_id)
    return Status(204, None)
