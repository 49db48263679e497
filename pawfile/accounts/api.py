"""``/api/v1`` endpoints for the signed-in user and their households."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from pawfile.accounts import selectors
from pawfile.accounts.models import User

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
    role: str


class MemberOut(Schema):
    user_id: int
    email: str
    name: str
    role: str


def _user(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


@router.get("/me", response=MeOut, summary="The signed-in user")
def me(request: HttpRequest) -> User:
    return _user(request)


@router.get("/households", response=list[HouseholdOut], summary="Households you belong to")
def households(request: HttpRequest) -> list[dict[str, object]]:
    user = _user(request)
    return [
        {"id": m.household_id, "name": m.household.name, "role": m.role}
        for m in user.memberships.select_related("household").order_by("joined_at", "id")
    ]


@router.get("/households/{household_id}/members", response=list[MemberOut], summary="Members")
def household_members(request: HttpRequest, household_id: int) -> list[dict[str, object]]:
    user = _user(request)
    household = selectors.household_get(user=user, household_id=household_id)
    return [
        {"user_id": m.user_id, "email": m.user.email, "name": m.user.name, "role": m.role}
        for m in selectors.member_list(user=user, household=household)
    ]
