"""Reads for households and memberships, always from the point of view of an acting user.

Every selector takes the acting user and returns only what that user may see; access is
decided by ``pawfile.accounts.access`` (``NotFound`` for strangers, ``Forbidden`` for a role
too low).
"""

from __future__ import annotations

from django.db.models import F, QuerySet

from pawfile.accounts.access import Access, Action, access_attach, access_of, household_access
from pawfile.accounts.choices import InvitationStatus
from pawfile.accounts.models import Household, Invitation, Membership, User


def household_list(*, user: User) -> QuerySet[Household]:
    """Households the user belongs to, oldest membership first, each with the user's ``role``
    (memberships only: a grant opens its objects one at a time, through the gates)."""
    if not user.is_authenticated:
        return Household.objects.none()
    return (
        Household.objects.filter(memberships__user=user)
        .annotate(role=F("memberships__role"))
        .order_by("memberships__joined_at", "pk")
    )


def household_get(*, user: User, household_id: int, action: Action = Action.VIEW) -> Household:
    """The household if ``user`` may ``action`` in it, with the decision attached
    (``access_of(household)``: its ``role`` is ``None`` when only a grant opens it).

    Raises ``NotFound`` for strangers and ``Forbidden`` for a role too low."""
    access = household_access(user=user, household_id=household_id, action=action)
    household = Household.objects.get(pk=household_id)
    access_attach(household, access)
    return household


def _access(user: User, household: Household, action: Action = Action.VIEW) -> Access:
    """The access attached to ``household`` by ``household_get`` for ``user``, else asked."""
    access = access_of(household)
    if access is not None and access.covers(user=user):
        return access.require(action)
    return household_access(user=user, household_id=household.pk, action=action)


def member_list(*, user: User, household: Household) -> QuerySet[Membership]:
    """Members of a household the user may see (``NotFound`` otherwise)."""
    _access(user, household)
    return household.memberships.select_related("user").order_by("joined_at", "id")


def invitation_list(*, user: User, household: Household) -> QuerySet[Invitation]:
    """Pending invitations; only those who manage the household see them (others get an
    empty list; strangers ``NotFound``)."""
    if not _access(user, household).allows(Action.MANAGE):
        return Invitation.objects.none()
    return household.invitations.filter(status=InvitationStatus.PENDING).select_related(
        "invited_by"
    )
