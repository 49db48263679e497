"""``selectors.pet_rows`` (the API's hand-written pet list) returns what the ORM would.

Every query below is run both ways, page by page, and the ids, roles and values compared:
names that differ only in case or sort oddly, LIKE's own wildcards typed as text, several
households with different roles, and a stranger's pets that must never appear.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pawfile.accounts.choices import Role
from pawfile.accounts.models import Household, Membership
from pawfile.pets import selectors
from pawfile.pets.models import Pet
from tests.conftest import Cast

NAMES = [
    "Rex", "rex", "REX", "Bella", "bella_2", "100% Good Boy", "Back\\slash", "Ñoño", "Zed",
    "a", "Rex", "Max", "max", "O'Malley", "Kiwi", "kiwi", "Él",
]  # fmt: skip
QUERIES = ["", "rex", "REX", "_", "%", "\\", "ll", "o", "9410", "kiwi", "zzz", "'"]


@pytest.fixture
def pets(cast: Cast) -> dict[str, Household]:
    second = Household.objects.create(name="Second")
    Membership.objects.create(household=second, user=cast.alice, role=Role.VIEWER)
    for n, name in enumerate(NAMES):
        household = cast.household if n % 3 else second
        Pet.objects.create(
            household=household, name=name, species="dog", breed="Mixed" if n % 2 else "Lab",
            microchip=f"94100000000{n:04d}", birth_date=dt.date(2020, 1, 1 + n),
        )  # fmt: skip
    charlies = Household.objects.get(memberships__user=cast.charlie)
    Pet.objects.create(household=charlies, name="Rex", species="cat", microchip="941000000009999")
    return {"first": cast.household, "second": second}


def _orm_pages(user, query: str, household_id: int | None, limit: int) -> list[list[tuple]]:
    rows = selectors.pet_search(user=user, query=query)
    if household_id is not None:
        rows = rows.filter(household_id=household_id)
    ordered = rows.order_by("name", "id")
    found = [(p.pk, p.role, p.name, p.birth_date, p.created_at) for p in ordered]
    return [found[i : i + limit] for i in range(0, len(found), limit)] or [[]]


def _sql_pages(user, query: str, household_id: int | None, limit: int) -> list[list[tuple]]:
    pages, after = [], None
    while True:
        rows = selectors.pet_rows(
            user=user, query=query, household_id=household_id, after=after, limit=limit + 1
        )
        page = rows[:limit]
        pages.append(
            [(r["id"], r["role"], r["name"], r["birth_date"], r["created_at"]) for r in page]
        )
        if len(rows) <= limit:
            return pages
        after = (page[-1]["name"], page[-1]["id"])


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("limit", [1, 4, 50])
def test_same_pages_as_the_orm(cast: Cast, pets: dict, query: str, limit: int) -> None:
    for household_id in (None, pets["first"].pk, pets["second"].pk):
        expected = _orm_pages(cast.alice, query, household_id, limit)
        assert _sql_pages(cast.alice, query, household_id, limit) == expected


def test_values_are_converted_like_the_orm(cast: Cast, pets: dict) -> None:
    row = selectors.pet_rows(user=cast.alice, query="Zed", limit=5)[0]
    pet = Pet.objects.get(pk=row["id"])
    for field in Pet._meta.concrete_fields:
        assert row[field.attname] == getattr(pet, field.attname), field.attname
    assert row["created_at"].tzinfo is not None
    assert isinstance(row["birth_date"], dt.date)


def test_strangers_and_the_anonymous_see_nothing_of_others(cast: Cast, pets: dict) -> None:
    from django.contrib.auth.models import AnonymousUser

    names = {r["name"] for r in selectors.pet_rows(user=cast.charlie, limit=100)}
    assert names == {"Rex"}  # his own cat only
    assert selectors.pet_rows(user=AnonymousUser(), limit=100) == []  # type: ignore[arg-type]


def test_roles_are_the_users_own(cast: Cast, pets: dict) -> None:
    roles = {(r["household_id"], r["role"]) for r in selectors.pet_rows(user=cast.alice, limit=100)}
    assert roles == {(pets["first"].pk, "owner"), (pets["second"].pk, "viewer")}
    bob = {r["role"] for r in selectors.pet_rows(user=cast.bob, limit=100)}
    assert bob == {"caretaker"}


@pytest.mark.parametrize("hand_written", [True, False], ids=["sql", "orm"])
@pytest.mark.parametrize(
    "fields",
    [
        ("id", "household_id", "role", "name", "birth_date", "neutered", "created_at"),
        ("role", "created_at", "id"),
        ("updated_at", "name", "id", "role", "birth_date_estimated"),
    ],
)
def test_chosen_fields_are_the_same_values_in_the_order_asked(
    cast: Cast, pets: dict, monkeypatch, hand_written: bool, fields: tuple[str, ...]
) -> None:
    # ``fields`` (the API's pet list asks for its answer's keys in the schema's order):
    # each row holds those keys, in that order, with the values the full rows hold.
    from pawfile.lib import sqlrows

    monkeypatch.setattr(sqlrows, "HAND_WRITTEN", hand_written)
    Pet.objects.filter(name="Zed").update(neutered=True, birth_date_estimated=True)
    for query in ("", "rex", "zed"):
        full = selectors.pet_rows(user=cast.alice, query=query, limit=50)
        chosen = selectors.pet_rows(user=cast.alice, query=query, limit=50, fields=fields)
        assert [list(row) for row in chosen] == [list(fields)] * len(full)
        assert chosen == [{name: row[name] for name in fields} for row in full]
    zed = selectors.pet_rows(user=cast.alice, query="Zed", limit=5, fields=fields)[0]
    assert all(type(zed[n]) is type(full_value) for n, full_value in _zed(cast, fields).items())


def _zed(cast: Cast, fields: tuple[str, ...]) -> dict[str, object]:
    row = selectors.pet_rows(user=cast.alice, query="Zed", limit=5)[0]
    return {name: row[name] for name in fields}
