"""The access rule (``pawfile.accounts.access``): the role table, grants, and the 404/403
split, for a household as a whole. The pet gate has its own tests (tests/pets/test_pet_gate.py).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from pawfile.accounts import access, services
from pawfile.accounts.access import Action, household_access
from pawfile.accounts.choices import Role
from pawfile.accounts.models import Grant, Membership
from pawfile.lib.errors import Forbidden, Invalid, NotFound
from pawfile.pets.models import Pet
from tests.conftest import Cast
from tests.grantees import Grantees, grantees_make

OK, FORBIDDEN, NOT_FOUND = "ok", 403, 404
ACTIONS = list(Action)


def _row(*answers: object) -> dict[Action, object]:
    return dict(zip(ACTIONS, answers, strict=True))


# summary, view, write, pet_delete, manage
ALL = _row(OK, OK, OK, OK, OK)
WRITER = _row(OK, OK, OK, FORBIDDEN, FORBIDDEN)
READER = _row(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)
NOTHING = _row(*[NOT_FOUND] * 5)

# The household as a whole: a grant for one pet does not open it.
HOUSEHOLD = {
    "alice": ALL, "bob": WRITER, "carol": READER, "charlie": NOTHING, None: NOTHING,
    "dana": NOTHING, "erin": NOTHING, "fred": NOTHING, "gina": WRITER, "hugo": NOTHING,
}  # fmt: skip


@pytest.fixture
def grantees(cast: Cast) -> Grantees:
    rex = Pet.objects.create(household=cast.household, name="Rex", species="dog")
    bella = Pet.objects.create(household=cast.household, name="Bella", species="cat")
    return grantees_make(cast, rex, bella)


def _who(cast: Cast, grantees: Grantees, name: str | None):
    if name is None:
        return AnonymousUser()
    return getattr(cast, name, None) or getattr(grantees, name)


def _answer(call) -> object:
    try:
        call()
    except NotFound:
        return NOT_FOUND
    except Forbidden:
        return FORBIDDEN
    return OK


def test_role_table_is_the_one_in_the_docstring() -> None:
    """The table people read (the module docstring) is the table the code applies."""
    doc = access.__doc__ or ""
    rows = re.findall(r"^\| ``(\w+)`` +\|[^|]+\|(.+)\|$", doc, flags=re.MULTILINE)
    assert [name for name, _ in rows] == [a.value for a in Action]
    for name, cells in rows:
        owner, caretaker, viewer, grant = (c.strip() for c in cells.split("|"))
        action = Action(name)
        assert (action in access.ROLE_ACTIONS[Role.OWNER]) == (owner == "yes")
        assert (action in access.ROLE_ACTIONS[Role.CARETAKER]) == (caretaker == "yes")
        assert (action in access.ROLE_ACTIONS[Role.VIEWER]) == (viewer == "yes")
        assert (action in access.GRANTABLE) == (grant == "may")


@pytest.mark.parametrize("name", list(HOUSEHOLD))
def test_household_access_for_every_subject_and_action(
    cast: Cast, grantees: Grantees, name: str | None
) -> None:
    user = _who(cast, grantees, name)
    for action in ACTIONS:
        found = _answer(
            lambda a=action: household_access(user=user, household_id=cast.household.pk, action=a)
        )
        assert found == HOUSEHOLD[name][action], (name, action)


def test_the_decision_says_who_and_what(cast: Cast, grantees: Grantees) -> None:
    mine = household_access(user=cast.bob, household_id=cast.household.pk, action=Action.VIEW)
    assert (mine.user_id, mine.household_id, mine.pet_id) == (cast.bob.pk, cast.household.pk, None)
    assert mine.role == Role.CARETAKER
    assert mine.covers(user=cast.bob) and not mine.covers(user=cast.carol)
    sitter = household_access(
        user=grantees.gina, household_id=cast.household.pk, action=Action.WRITE
    )
    assert sitter.role is None  # a grant is not a membership
    assert sitter.actions == {Action.SUMMARY, Action.VIEW, Action.WRITE}


def test_a_grant_adds_to_a_role(cast: Cast) -> None:
    with pytest.raises(Forbidden):
        household_access(user=cast.carol, household_id=cast.household.pk, action=Action.WRITE)
    now = timezone.now()
    services.grant_create(
        user=cast.carol, household=cast.household, actions=["write"], source="sitting",
        starts_at=now - dt.timedelta(minutes=1), ends_at=now + dt.timedelta(days=1),
    )  # fmt: skip
    found = household_access(user=cast.carol, household_id=cast.household.pk, action=Action.WRITE)
    assert found.role == Role.VIEWER


def test_a_grant_is_live_only_between_its_start_and_end(cast: Cast, grantees: Grantees) -> None:
    grant = Grant.objects.get(user=grantees.gina)
    household = cast.household.pk
    for moment, expected in [
        (grant.starts_at - dt.timedelta(seconds=1), NOT_FOUND),
        (grant.starts_at, OK),
        (grant.ends_at - dt.timedelta(seconds=1), OK),
        (grant.ends_at, NOT_FOUND),
    ]:
        found = _answer(
            lambda m=moment: household_access(
                user=grantees.gina, household_id=household, action=Action.VIEW, now=m
            )
        )
        assert found == expected, moment


def test_grants_end_with_their_source(cast: Cast, grantees: Grantees) -> None:
    assert services.grants_end(source=f"test:{grantees.gina.email}") == 1
    with pytest.raises(NotFound):
        household_access(user=grantees.gina, household_id=cast.household.pk, action=Action.VIEW)


def test_a_grant_never_deletes_a_pet_or_manages(cast: Cast, grantees: Grantees) -> None:
    now = timezone.now()
    for actions in (["manage"], ["pet_delete"], ["view", "manage"], [], ["fly"]):
        with pytest.raises(Invalid) as refused:
            services.grant_create(
                user=cast.charlie, household=cast.household, actions=actions, source="x",
                starts_at=now, ends_at=now + dt.timedelta(hours=1),
            )  # fmt: skip
        assert "actions" in refused.value.fields
    # Even a row written by hand cannot give more.
    Grant.objects.filter(user=grantees.gina).update(actions="view,manage,pet_delete")
    for action in (Action.MANAGE, Action.PET_DELETE, Action.WRITE):
        with pytest.raises(Forbidden):
            household_access(user=grantees.gina, household_id=cast.household.pk, action=action)


def test_a_grant_needs_a_period_and_a_reason(cast: Cast) -> None:
    now = timezone.now()
    with pytest.raises(Invalid) as refused:
        services.grant_create(
            user=cast.charlie, household=cast.household, actions=["view"], source=" ",
            starts_at=now, ends_at=now,
        )  # fmt: skip
    assert set(refused.value.fields) == {"ends_at", "source"}
    assert not Grant.objects.filter(user=cast.charlie).exists()


def test_leaving_needs_a_membership_not_a_grant(cast: Cast, grantees: Grantees) -> None:
    with pytest.raises(NotFound):
        services.membership_leave(household=cast.household, user=grantees.gina)
    assert Membership.objects.filter(household=cast.household).count() == 3
