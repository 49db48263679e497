"""Cursor pagination, filters and ordering of API lists."""

from __future__ import annotations

import datetime as dt

import pytest

from pawfile.health import services as health_services
from pawfile.pets import services as pet_services
from pawfile.pets.models import Pet
from tests.api.conftest import World


def walk(client, path: str) -> list[dict]:
    """Every item of a list, page after page."""
    items: list[dict] = []
    cursor = None
    for _ in range(100):
        sep = "&" if "?" in path else "?"
        response = client.get(path + (f"{sep}cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.content
        page = response.json()
        items += page["items"]
        cursor = page["next"]
        if cursor is None:
            return items
    raise AssertionError("pagination does not end")


@pytest.fixture
def many_pets(world: World) -> list[int]:
    # Same names on purpose: ties must be broken by id, never repeated or skipped.
    for name in ["Bella", "Bella", "Bella", "Ace", "Zorro", "Milo", "Milo"]:
        pet_services.pet_create(
            actor=world.cast.alice, household=world.household, name=name, species="dog"
        )
    return list(
        Pet.objects.filter(household=world.household)
        .order_by("name", "id")
        .values_list("id", flat=True)
    )


def test_walk_all_pets_two_at_a_time(world: World, api_client, many_pets: list[int]) -> None:
    items = walk(api_client("alice"), "/pets?limit=2")
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), "a pet appeared twice"
    assert ids == many_pets
    assert world.tom.pk not in ids


def test_pages_hold_limit_items_and_end_with_null(api_client, many_pets: list[int]) -> None:
    first = api_client("alice").get("/pets?limit=3").json()
    assert len(first["items"]) == 3
    assert isinstance(first["next"], str)
    everything = api_client("alice").get("/pets?limit=100").json()
    assert len(everything["items"]) == len(many_pets)
    assert everything["next"] is None


def test_new_rows_do_not_shift_later_pages(world: World, api_client, many_pets) -> None:
    client = api_client("alice")
    first = client.get("/pets?limit=2").json()
    # A pet sorted before the cursor appears meanwhile: the next page is not affected.
    pet_services.pet_create(
        actor=world.cast.alice, household=world.household, name="Aaron", species="cat"
    )
    second = client.get(f"/pets?limit=2&cursor={first['next']}").json()
    assert [p["id"] for p in second["items"]] == many_pets[2:4]


@pytest.mark.parametrize(
    "cursor", ["garbage", "", "AAAA", "eyJvIjoibmFtZSxpZCIsImsiOlsiQSIsMV19", "%00", "a" * 200]
)
def test_bad_cursor_is_400(world: World, api_client, cursor: str) -> None:
    response = api_client("alice").get(f"/pets?cursor={cursor}")
    if cursor == "":
        assert response.status_code == 200  # no cursor: the first page
        return
    error = response.json()["error"]
    if cursor == "%00":  # outside the alphabet the schema gives (base64url): a field error
        assert response.status_code == 422
        assert list(error["fields"]) == ["cursor"]
        return
    assert response.status_code == 400  # looks like one, but the server did not sign it
    assert error["code"] == "bad_cursor"
    assert "cursor" in error["message"]


def test_tampered_cursor_is_400(world: World, api_client, many_pets) -> None:
    client = api_client("alice")
    cursor = client.get("/pets?limit=2").json()["next"]
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    assert client.get(f"/pets?cursor={flipped}").status_code == 400


def test_cursor_of_another_ordering_is_400(world: World, api_client) -> None:
    for day in range(1, 4):
        health_services.weight_record(
            actor=world.cast.alice, pet=world.rex, value=10 + day, unit="kg",
            date=dt.date(2025, 1, day),
        )  # fmt: skip
    client = api_client("alice")
    cursor = client.get(f"/pets/{world.rex.pk}/weights?limit=1&ordering=date").json()["next"]
    response = client.get(f"/pets/{world.rex.pk}/weights?ordering=-date&cursor={cursor}")
    assert response.status_code == 400


@pytest.mark.parametrize("limit", ["0", "101", "-1", "x"])
def test_limit_out_of_range_is_422(world: World, api_client, limit: str) -> None:
    response = api_client("alice").get(f"/pets?limit={limit}")
    assert response.status_code == 422
    assert "limit" in response.json()["error"]["fields"]


def test_pets_filter_by_household_and_text(world: World, api_client, many_pets) -> None:
    client = api_client("alice")
    assert [p["name"] for p in walk(client, "/pets?q=bEll")] == ["Bella"] * 3
    assert walk(client, f"/pets?household_id={world.tom.household_id}") == []
    assert len(walk(client, f"/pets?household_id={world.household.pk}")) == len(many_pets)


def test_records_filters_and_ordering(world: World, api_client) -> None:
    alice, rex = world.cast.alice, world.rex
    health_services.record_create(
        actor=alice, pet=rex, kind="deworming", name="Drontal", date=dt.date(2025, 6, 1)
    )
    health_services.record_create(
        actor=alice, pet=rex, kind="allergy", name="Pollen", date=dt.date(2024, 1, 1)
    )
    client = api_client("alice")
    base = f"/pets/{rex.pk}/records"
    kinds = [r["kind"] for r in walk(client, f"{base}?kind=vaccination&kind=deworming&limit=1")]
    assert kinds == ["deworming", "vaccination"]  # newest first by default
    dates = [r["date"] for r in walk(client, f"{base}?ordering=date&limit=1")]
    assert dates == sorted(dates)
    assert dates[0] == "2024-01-01"
    ranged = walk(client, f"{base}?date_from=2025-01-01&date_to=2025-12-31")
    assert {r["name"] for r in ranged} == {"Rabies", "Drontal"}
    assert client.get(f"{base}?kind=teleport").status_code == 422


def test_notes_search(world: World, api_client) -> None:
    pet_services.note_create(
        actor=world.cast.alice, pet=world.rex, body_html="<p>Vet on Monday</p>"
    )
    client = api_client("carol")
    found = walk(client, f"/pets/{world.rex.pk}/notes?q=monday")
    assert [n["body_html"] for n in found] == ["<p>Vet on Monday</p>"]
    assert len(walk(client, f"/pets/{world.rex.pk}/notes")) == 2


def test_lists_never_show_other_households(world: World, api_client) -> None:
    charlie = api_client("charlie")
    assert [p["name"] for p in walk(charlie, "/pets")] == ["Tom"]
    assert [h["id"] for h in walk(charlie, "/households")] == [world.tom.household_id]
    assert "Rex" not in charlie.get("/pets?q=Rex").content.decode()
    assert [p["name"] for p in walk(api_client("alice"), "/pets")] == ["Rex"]


@pytest.mark.parametrize("hand_written", [True, False], ids=["sql", "orm"])
def test_pet_list_body_is_the_one_the_schema_gives(
    world: World, api_client, many_pets: list[int], monkeypatch, hand_written: bool
) -> None:
    # The list writes its rows to JSON itself (pets.api.pet_page_body): the bytes must be
    # those PetPage's validation and dump give, with every type of field filled in.
    from pawfile.lib import sqlrows
    from pawfile.lib.pagination import page_of
    from pawfile.lib.renderer import json_bytes
    from pawfile.pets import selectors
    from pawfile.pets.api import PetPage

    monkeypatch.setattr(sqlrows, "HAND_WRITTEN", hand_written)
    Pet.objects.filter(pk=many_pets[0]).update(
        birth_date=dt.date(2019, 5, 17), birth_date_estimated=True, neutered=True,
        microchip="941000012345678", colour="Brindle", about="Loves <b>walks</b> & \u00f1",
    )  # fmt: skip
    Pet.objects.filter(pk=many_pets[1]).update(neutered=False)
    response = api_client("alice").get("/pets?limit=3")
    assert response.status_code == 200
    rows = selectors.pet_rows(user=world.cast.alice, limit=4)
    expected = PetPage.model_validate(page_of(rows, 3, ("name", "id"))).model_dump()
    assert response.content == json_bytes(expected)
    first = response.json()["items"][0]
    assert (first["birth_date"], first["neutered"], first["role"]) == ("2019-05-17", True, "owner")
    assert list(first) == list(PetPage.model_fields["items"].annotation.__args__[0].model_fields)
