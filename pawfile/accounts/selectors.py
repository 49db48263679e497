"""Reads for households and memberships, always from the point of view of an acting user.

Every selector takes the acting user and returns only what that user may see; access is
decided by ``pawfile.accounts.access`` (``NotFound`` for strangers, ``Forbidden`` for a role
too low).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, QuerySet

from pawfile.accounts.access import Access, Action, access_attach, access_of, household_access
from pawfile.accounts.choices import InvitationStatus
from pawfile.accounts.models import Household, Invitation, Membership, User
from pawfile.lib import sqlrows


def user_signing_in(user_id: object) -> User | None:
    """The active user with primary key ``user_id``, else ``None``: what ``ModelBackend``'s
    ``get_user`` answers, in one hand-written SELECT (``lib.sqlrows``)."""
    if not sqlrows.HAND_WRITTEN:  # the benchmark switch: the ORM's read
        user = User.objects.filter(pk=user_id).first()  # type: ignore[misc]
    else:
        if not sqlrows.is_id(user_id):
            return None
        connection = connections[DEFAULT_DB_ALIAS]
        rows = sqlrows.fetch(_user_sql(), [user_id])
        found = sqlrows.columns(User, "u").instance(rows[0], connection) if rows else None
        user = found if isinstance(found, User) else None
    return user if user is not None and user.is_active else None


@cache
def _user_sql() -> str:
    return (  # names are quoted by the connection, values are parameters
        f"SELECT {sqlrows.columns(User, 'u').sql} FROM {sqlrows.table(User)} u"  # noqa: S608
        f" WHERE {sqlrows.column(User, 'id', 'u')} = %s"
    )


@dataclass(frozen=True)
class NavHousehold:
    """A household as the page header shows it."""

    pk: int
    name: str

    def __str__(self) -> str:
        return self.name


class NavHouseholds:
    """The households ``user`` belongs to (``NavHousehold``), oldest membership first, read
    on first use with one hand-written SELECT; ``all()`` gives the list (the header's
    ``{% shell_cached %}`` keys on it, and lists them)."""

    def __init__(
        self, user: User | AnonymousUser, rows: list[tuple[int, str]] | None = None
    ) -> None:
        self._user = user
        # ``rows``: already read as ``(id, name)`` in that order (accounts.sessions)
        self._rows = None if rows is None else [NavHousehold(pk, name) for pk, name in rows]

    def all(self) -> list[NavHousehold]:
        if self._rows is None:
            self._rows = _nav_households(self._user)
        return self._rows


def _nav_households(user: User | AnonymousUser) -> list[NavHousehold]:
    if not user.is_authenticated:
        return []
    if not sqlrows.HAND_WRITTEN:
        return [NavHousehold(h.pk, h.name) for h in household_list(user=user)]
    return [NavHousehold(pk, name) for pk, name in sqlrows.fetch(_nav_sql(), [user.pk])]


@cache
def _nav_sql() -> str:
    c = sqlrows.column
    return (  # names are quoted by the connection, values are parameters
        f"SELECT {c(Household, 'id', 'h')}, {c(Household, 'name', 'h')}"  # noqa: S608
        f" FROM {sqlrows.table(Household)} h INNER JOIN {sqlrows.table(Membership)} m"
        f" ON {c(Membership, 'household', 'm')} = {c(Household, 'id', 'h')}"
        f" WHERE {c(Membership, 'user', 'm')} = %s"
        f" ORDER BY {c(Membership, 'joined_at', 'm')}, {c(Household, 'id', 'h')}"
    )


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
