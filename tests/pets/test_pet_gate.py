"""The pet gate (``pets.selectors.pet_get``): one hand-written SELECT that must answer exactly
as the ORM does (``pet_get_orm``) for every subject × pet × action; the answers themselves
(404 for whoever the pet is hidden from, 403 for a role or grant too low), the same on web
pages and in the API; and the gate running once per pet page.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pawfile.accounts import services as account_services
from pawfile.accounts.access import Action, access_of
from pawfile.accounts.models import Household, User
from pawfile.lib.errors import Forbidden, NotFound
from pawfile.pets import selectors
from pawfile.pets.models import Pet
from tests.api.conftest import ApiClient, access_token
from tests.conftest import Cast, make_user
from tests.grantees import Grantees, grantees_make

OK, FORBIDDEN, NOT_FOUND = "ok", 403, 404
ACTIONS = list(Action)
SUBJECTS = [
    "alice", "bob", "carol", "charlie", None, "dana", "erin", "fred", "gina", "hugo", "ivan",
]  # fmt: skip
SUBJECT_IDS = [
    "owner", "caretaker", "viewer", "stranger", "anonymous", "grant-summary-live",
    "grant-expired", "grant-other-pet", "grant-household", "grant-not-started",
    "grant-pet-of-other-household",
]  # fmt: skip


def _row(*answers: object) -> dict[Action, object]:
    return dict(zip(ACTIONS, answers, strict=True))


# summary, view, write, pet_delete, manage
ALL = _row(OK, OK, OK, OK, OK)
WRITER = _row(OK, OK, OK, FORBIDDEN, FORBIDDEN)
READER = _row(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)
SUMMARY = _row(OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN)
NOTHING = _row(*[NOT_FOUND] * 5)

# What each subject gets on each pet: rex and bella are alice's, tom is charlie's.
EXPECTED = {
    "rex": {
        "alice": ALL, "bob": WRITER, "carol": READER, "charlie": NOTHING, None: NOTHING,
        "dana": SUMMARY, "erin": NOTHING, "fred": NOTHING, "gina": WRITER, "hugo": NOTHING,
        "ivan": NOTHING,
    },
    "bella": {
        "alice": ALL, "bob": WRITER, "carol": READER, "charlie": NOTHING, None: NOTHING,
        "dana": NOTHING, "erin": NOTHING, "fred": READER, "gina": WRITER, "hugo": NOTHING,
        "ivan": NOTHING,
    },
    "tom": {name: ALL if name == "charlie" else NOTHING for name in SUBJECTS},
    "missing": {name: NOTHING for name in SUBJECTS},
}  # fmt: skip


class People:
    """The cast, the grantees, and ivan: a grant on alice's household naming charlie's pet
    (a pet of another household), which must open nothing."""

    def __init__(self, cast: Cast, grantees: Grantees, ivan: User) -> None:
        self.cast, self.grantees, self.ivan = cast, grantees, ivan

    def __call__(self, name: str | None) -> User | AnonymousUser:
        if name is None:
            return AnonymousUser()
        if name == "ivan":
            return self.ivan
        return getattr(self.cast, name, None) or getattr(self.grantees, name)


@pytest.fixture
def pets(cast: Cast) -> dict[str, int]:
    rex = Pet.objects.create(household=cast.household, name="Rex", species="dog", breed="Lab")
    bella = Pet.objects.create(
        household=cast.household, name="Bella", species="cat", birth_date=dt.date(2020, 2, 29)
    )
    charlies = Household.objects.get(memberships__user=cast.charlie)
    tom = Pet.objects.create(household=charlies, name="Tom", species="cat")
    return {"rex": rex.pk, "bella": bella.pk, "tom": tom.pk, "missing": tom.pk + 1000}


@pytest.fixture
def people(cast: Cast, pets: dict[str, int]) -> People:
    rex, bella = Pet.objects.get(pk=pets["rex"]), Pet.objects.get(pk=pets["bella"])
    grantees = grantees_make(cast, rex, bella)
    ivan = make_user("ivan@example.org", "Ivan")
    now = timezone.now()
    account_services.grant_create(
        user=ivan, household=cast.household, pet_id=pets["tom"], actions=["view"],
        starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=1), source="x",
    )  # fmt: skip
    return People(cast, grantees, ivan)


def _answer(gate, user, pet_id: int, action: Action) -> object:
    """What ``gate`` answers, with everything a caller could read from the pet it returns."""
    try:
        pet = gate(user=user, pet_id=pet_id, action=action)
    except NotFound:
        return NOT_FOUND
    except Forbidden:
        return FORBIDDEN
    access = access_of(pet)
    assert access is not None
    fields = {f.attname: getattr(pet, f.attname) for f in Pet._meta.concrete_fields}
    household = {f.attname: getattr(pet.household, f.attname) for f in Household._meta.fields}
    decision = (access.user_id, access.household_id, access.pet_id, access.role, access.actions)
    return OK, decision, pet.role, fields, household  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", SUBJECTS, ids=SUBJECT_IDS)
def test_fast_path_answers_as_the_orm_for_every_pet_and_action(
    people: People, pets: dict[str, int], name: str | None
) -> None:
    user = people(name)
    for pet_name, pet_id in pets.items():
        for action in ACTIONS:
            fast = _answer(selectors.pet_get, user, pet_id, action)
            orm = _answer(selectors.pet_get_orm, user, pet_id, action)
            assert fast == orm, (pet_name, action)
            outcome = fast[0] if isinstance(fast, tuple) else fast
            assert outcome == EXPECTED[pet_name][name][action], (pet_name, action)


def test_the_fast_path_converts_values_like_the_orm(people: People, pets: dict[str, int]) -> None:
    pet = selectors.pet_get(user=people("alice"), pet_id=pets["bella"])
    assert pet.birth_date == dt.date(2020, 2, 29)
    assert pet.created_at.tzinfo is not None
    assert pet.household.created_at.tzinfo is not None
    assert not pet._state.adding  # saving it updates the row


def test_a_pet_from_the_gate_is_trusted_only_for_its_user(
    people: People, pets: dict[str, int], django_assert_num_queries
) -> None:
    alice, carol = people("alice"), people("carol")
    pet = selectors.pet_get(user=alice, pet_id=pets["rex"])
    with django_assert_num_queries(0):
        assert selectors.pet_checked(user=alice, pet=pet, action=Action.PET_DELETE) is pet
    with django_assert_num_queries(1), pytest.raises(Forbidden):
        selectors.pet_checked(user=carol, pet=pet, action=Action.WRITE)
    with django_assert_num_queries(1), pytest.raises(NotFound):
        selectors.pet_checked(user=people("charlie"), pet=pet)
    unchecked = Pet.objects.get(pk=pets["rex"])
    with django_assert_num_queries(1):
        selectors.pet_checked(user=alice, pet=unchecked)


# --- Pages --------------------------------------------------------------------------------


def _gate_queries(captured: CaptureQueriesContext) -> list[str]:
    """The queries that decided access: only the gate and the access rule read grants."""
    return [q["sql"] for q in captured.captured_queries if "accounts_grant" in q["sql"]]


@pytest.mark.parametrize("page", ["/pets/{}/", "/pets/{}/timeline/", "/pets/{}/notes/"])
def test_a_pet_page_checks_access_once(people: People, pets: dict[str, int], page: str) -> None:
    from pawfile.pets import services

    rex = selectors.pet_get(user=people("alice"), pet_id=pets["rex"])
    services.note_create(actor=people("alice"), pet=rex, body_html="<p>Walk</p>")
    client = people.cast.client_for("bob")
    url = page.format(pets["rex"])
    client.get(url)  # a first request warms what is cached per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert len(_gate_queries(captured)) == 1, _gate_queries(captured)


# --- The same answer on the web and in the API ---------------------------------------------

WEB_AND_API = {
    # action: (web page, API method, API path, API body, API success)
    "view": ("/pets/{}/", "get", "/pets/{}", None, 200),
    "write": ("/pets/{}/edit/", "patch", "/pets/{}", {"name": "Rexy"}, 200),
    "pet_delete": ("/pets/{}/delete/", "delete", "/pets/{}", None, 204),
}
SPLIT_SUBJECTS = ["alice", "bob", "carol", "charlie", "dana", "erin", "fred", "gina"]


@pytest.mark.parametrize("name", SPLIT_SUBJECTS)
@pytest.mark.parametrize("action", list(WEB_AND_API))
def test_web_and_api_refuse_alike(
    people: People, pets: dict[str, int], name: str, action: str
) -> None:
    from django.test import Client

    page, method, path, body, success = WEB_AND_API[action]
    user = people(name)
    expected = EXPECTED["rex"][name][Action(action)]
    browser = Client()
    browser.force_login(user)
    web = browser.get(page.format(pets["rex"])).status_code
    api = ApiClient(access_token(user.email)).request(method, path.format(pets["rex"]), body)
    if expected == OK:
        assert (web, api.status_code) == (200, success)
    else:
        assert web == api.status_code == expected
        code = {403: "forbidden", 404: "not_found"}[expected]  # type: ignore[index]
        assert api.json()["error"]["code"] == code
    assert Pet.objects.filter(pk=pets["rex"]).exists() == (
        not (action == "pet_delete" and expected == OK)
    )
