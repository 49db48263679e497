"""Reads for households and memberships, always from the point of view of an acting user.

Every selector takes the acting user and returns only what that user may see; asking for a
household the user is not in raises ``Http404`` so that strangers learn nothing.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from pawfile.accounts.choices import InvitationStatus, Role
from pawfile.accounts.models import Household, Invitation, Membership, User

ROLE_RANK = {Role.VIEWER: 0, Role.CARETAKER: 1, Role.OWNER: 2}


def membership_for(*, user: User, household: Household) -> Membership | None:
    """The user's membership in ``household``, or ``None``."""
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, household=household).first()


def household_list(*, user: User) -> QuerySet[Household]:
    """Households the user belongs to, oldest membership first."""
    if not user.is_authenticated:
        return Household.objects.none()
    return Household.objects.filter(memberships__user=user).order_by("memberships__joined_at")


def household_get(*, user: User, household_id: int, min_role: str = Role.VIEWER) -> Household:
    """The household with ``household_id`` if ``user`` is a member with at least ``min_role``.

    Raises ``Http404`` when the user is not a member; ``PermissionError`` when they are but
    their role is too low (views turn that into 403).
    """
    membership = (
        Membership.objects.select_related("household")
        .filter(user_id=user.pk, household_id=household_id)
        .first()
        if user.is_authenticated
        else None
    )
    if membership is None:
        raise Http404
    if ROLE_RANK[Role(membership.role)] < ROLE_RANK[Role(min_role)]:
        raise PermissionError(membership.role)
    household = membership.household
    household.current_role = membership.role  # type: ignore[attr-defined]
    return household


def member_list(*, user: User, household: Household) -> QuerySet[Membership]:
    """Members of a household the user belongs to (404 otherwise)."""
    household_get(user=user, household_id=household.pk)
    return household.memberships.select_related("user").order_by("joined_at", "id")


def invitation_list(*, user: User, household: Household) -> QuerySet[Invitation]:
    """Pending invitations; only the owner sees them (others get an empty list)."""
    membership = membership_for(user=user, household=household)
    if membership is None:
        raise Http404
    if membership.role != Role.OWNER:
        return Invitation.objects.none()
    return household.invitations.filter(status=InvitationStatus.PENDING).select_related(
        "invited_by"
    )
