"""``/api/v1`` endpoints for the signed-in user, their households and invitations."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from pawfile.accounts import invitations, selectors
from pawfile.accounts.access import Action, access_of
from pawfile.accounts.apiauth import acting_user
from pawfile.accounts.models import Household, Invitation, Membership, User
from pawfile.lib.api import Id, InputSchema, responses
from pawfile.lib.errors import Invalid
from pawfile.lib.pagination import Page, PageQuery, paginate

router = Router(tags=["accounts"])


class MeOut(Schema):
    id: int
    email: str
    name: str
    timezone: str
    locale: str


class HouseholdOut(Schema):
    id: int
    name: str
    role: str = Field(description="Your role; empty when a time-limited grant opens it.")


class MemberOut(Schema):
    user_id: int
    email: str
    name: str
    role: str


class HouseholdDetailOut(HouseholdOut):
    members: list[MemberOut]


class InvitationIn(InputSchema):
    email: str = Field(max_length=254, json_schema_extra={"format": "email"})
    role: Literal["caretaker", "viewer"]


class InvitationOut(Schema):
    id: int
    household_id: int
    email: str
    role: str
    status: str
    expires_at: dt.datetime


def _member(m: Membership) -> dict[str, object]:
    return {"user_id": m.user_id, "email": m.user.email, "name": m.user.name, "role": m.role}


def _household_out(household: Household, role: str) -> dict[str, object]:
    return {"id": household.pk, "name": household.name, "role": role}


@router.get("/me", response=responses({200: MeOut}), summary="The signed-in user")
def me(request: HttpRequest) -> User:
    return acting_user(request)


@router.get(
    "/households",
    response=responses({200: Page[HouseholdOut]}),
    summary="Households you belong to",
)
def household_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, object]:
    user = acting_user(request)
    memberships = Membership.objects.filter(user=user).select_related("household")
    result = paginate(memberships, page, order=("id",))
    result["items"] = [_household_out(m.household, m.role) for m in result["items"]]
    return result


@router.get(
    "/households/{household_id}",
    response=responses({200: HouseholdDetailOut}),
    summary="A household with its members",
)
def household_detail(request: HttpRequest, household_id: Id) -> dict[str, object]:
    user = acting_user(request)
    household = selectors.household_get(user=user, household_id=household_id)
    members = [_member(m) for m in selectors.member_list(user=user, household=household)]
    access = access_of(household)
    role = access.role if access is not None else None
    return {**_household_out(household, role or ""), "members": members}


@router.get(
    "/households/{household_id}/members",
    response=responses({200: list[MemberOut]}),
    summary="Members of a household",
)
def household_members(request: HttpRequest, household_id: Id) -> list[dict[str, object]]:
    user = acting_user(request)
    household = selectors.household_get(user=user, household_id=household_id)
    return [_member(m) for m in selectors.member_list(user=user, household=household)]


@router.post(
    "/households/{household_id}/invitations",
    response=responses({201: InvitationOut}),
    summary="Invite someone by email (owner only)",
)
def invitation_create(
    request: HttpRequest, household_id: Id, payload: InvitationIn
) -> Status[Invitation]:
    """Sends the invitation link by email. A pending invitation to the same address is
    replaced; inviting someone already in the household is a 409."""
    user = acting_user(request)
    household = selectors.household_get(user=user, household_id=household_id, action=Action.MANAGE)
    try:
        validate_email(payload.email)
    except ValidationError as exc:  # Django's validator, turned into the service family
        raise Invalid(fields={"email": exc.messages}) from None
    invitation = invitations.invitation_create(
        household=household, actor=user, email=payload.email, role=payload.role
    )
    return Status(201, invitation)
