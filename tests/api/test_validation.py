"""Bad input gets a 422 naming the fields (or 400/409), and nothing is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from pawfile.accounts.choices import Role
from pawfile.accounts.models import Membership
from pawfile.health.models import HealthRecord
from pawfile.pets.models import Note
from tests.api.conftest import World, pdf_upload, png_upload
from tests.api.test_access import fingerprint

# Stands for the date five days from today in a body; replaced when the test runs.
IN_FIVE_DAYS = "in five days"

# (body, the fields the error must name)
RECORD_CASES: dict[str, tuple[dict[str, Any], set[str]]] = {
    "vaccination needs a name": ({"kind": "vaccination"}, {"name"}),
    "weight takes no batch": ({"kind": "weight", "weight_grams": 900, "batch": "L1"}, {"batch"}),
    "weight needs grams": ({"kind": "weight"}, {"weight_grams"}),
    "deworming takes no dose": ({"kind": "deworming", "name": "X", "dose": "1"}, {"dose"}),
    "allergy severity is a choice": ({"kind": "allergy", "name": "Dust", "severity": "x"},
                                     {"severity"}),
    "visit cost needs a currency": ({"kind": "visit", "name": "Check", "cost": "40"},
                                    {"currency"}),
    "currency is three letters": ({"kind": "visit", "name": "Check", "cost": "40",
                                   "currency": "E1"}, {"currency"}),
    "negative cost": ({"kind": "visit", "name": "Check", "cost": "-1", "currency": "EUR"},
                      {"cost"}),
    "medication ends after it starts": ({"kind": "medication", "name": "Pill",
                                         "date": "2025-05-02", "end_date": "2025-05-01"},
                                        {"end_date"}),
    "vaccination next due after date": ({"kind": "vaccination", "name": "Rabies",
                                         "date": "2025-05-02", "next_due": "2024-05-01"},
                                        {"next_due"}),
    "no future dates": ({"kind": "lab", "name": "Blood", "date": IN_FIVE_DAYS}, {"date"}),
    "lab takes no severity": ({"kind": "lab", "name": "Blood", "severity": "mild"},
                              {"severity"}),
    "surgery takes no result": ({"kind": "surgery", "name": "Spay", "result": "ok"},
                                {"result"}),
    "unknown kind": ({"kind": "teleport", "name": "x"}, {"kind"}),
    "kind is required": ({"name": "Rabies"}, {"kind"}),
    "bad date": ({"kind": "lab", "name": "Blood", "date": "2025-02-30"}, {"date"}),
    "several at once": ({"kind": "weight", "name": "x", "clinic": "y", "weight_grams": 5},
                        {"name", "clinic"}),
    "a cost is a decimal string": ({"kind": "visit", "name": "Check", "cost": 40,
                                    "currency": "EUR"}, {"cost"}),
    "a cost has two decimals": ({"kind": "visit", "name": "Check", "cost": "4.005",
                                 "currency": "EUR"}, {"cost"}),
    "currency is ASCII letters": ({"kind": "visit", "name": "Check", "currency": "ÉUR"},
                                  {"currency"}),
    "a blank name is no name": ({"kind": "lab", "name": " \u3000"}, {"name"}),
    "a weight is not null": ({"kind": "weight", "weight_grams": None}, {"weight_grams"}),
}  # fmt: skip


@pytest.mark.parametrize("case", list(RECORD_CASES))
def test_record_validation_per_kind(world: World, api_client, case: str) -> None:
    body, fields = RECORD_CASES[case]
    in_five_days = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    body = {k: in_five_days if v == IN_FIVE_DAYS else v for k, v in body.items()}
    before = fingerprint()
    response = api_client("bob").post(f"/pets/{world.rex.pk}/records", body)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert fields <= set(error["fields"]), error
    assert all(isinstance(m, str) and m for msgs in error["fields"].values() for m in msgs)
    assert fingerprint() == before


def test_valid_record_of_each_kind_is_stored(world: World, api_client) -> None:
    client = api_client("bob")
    next_year = (timezone.localdate() + dt.timedelta(days=365)).isoformat()
    bodies = [
        {"kind": "vaccination", "name": "DHPP", "batch": "A1", "next_due": next_year},
        {"kind": "deworming", "name": "Drontal", "deworming_scope": "both"},
        {"kind": "medication", "name": "Pill", "dose": "1 tab", "frequency": "daily"},
        {"kind": "visit", "name": "Check", "cost": "40.50", "currency": "eur"},
        {"kind": "allergy", "name": "Dust", "severity": "mild"},
        {"kind": "surgery", "name": "Spay", "clinic": "Vet & Co"},
        {"kind": "lab", "name": "Blood", "result": "fine"},
        {"kind": "weight", "weight_grams": 12000},
    ]
    for body in bodies:
        response = client.post(f"/pets/{world.rex.pk}/records", body)
        assert response.status_code == 201, (body, response.content)
        assert response.json()["kind"] == body["kind"]
    visit = HealthRecord.objects.get(kind="visit")
    assert (str(visit.cost), visit.currency) == ("40.50", "EUR")
    vaccination = client.get(f"/records/{HealthRecord.objects.get(name='DHPP').pk}").json()
    assert vaccination["due_status"] == "up_to_date"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"cost": "12.00"}, "currency"), ({"cost": None}, "currency"), ({"name": " "}, "name"),
     ({"currency": ""}, "currency"), ({"kind": "visit"}, "kind")],
)  # fmt: skip
def test_record_update_rules(world: World, api_client, body: dict, field: str) -> None:
    visit = (
        api_client("alice")
        .post(
            f"/pets/{world.rex.pk}/records",
            {"kind": "visit", "name": "Check", "cost": "40.00", "currency": "EUR"},
        )
        .json()
    )
    response = api_client("alice").patch(f"/records/{world.record.pk}", body)
    if field != "kind":  # the fields of a visit, sent to the visit
        response = api_client("alice").patch(f"/records/{visit['id']}", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    stored = HealthRecord.objects.get(pk=visit["id"])
    assert (stored.name, str(stored.cost), stored.currency) == ("Check", "40.00", "EUR")


def test_a_record_body_is_an_object(world: World, api_client) -> None:
    response = api_client("alice").post(f"/pets/{world.rex.pk}/records", ["kind", "lab"])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"


def test_record_update_cost_with_its_currency(world: World, api_client) -> None:
    client = api_client("alice")
    visit = client.post(f"/pets/{world.rex.pk}/records", {"kind": "visit", "name": "Check"})
    changed = client.patch(f"/records/{visit.json()['id']}", {"cost": "9.5", "currency": "usd"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["cost"], changed.json()["currency"]) == ("9.50", "USD")


def test_a_record_whose_author_is_gone_can_still_be_changed(world: World, api_client) -> None:
    HealthRecord.objects.filter(pk=world.record.pk).update(created_by=None)
    response = api_client("alice").patch(f"/records/{world.record.pk}", {"batch": "B-2"})
    assert response.status_code == 200, response.content
    assert response.json()["batch"] == "B-2"


def test_record_update_refuses_fields_of_other_kinds(world: World, api_client) -> None:
    client = api_client("alice")
    response = client.patch(f"/records/{world.weight.pk}", {"name": "Heavy"})
    assert response.status_code == 422
    assert "name" in response.json()["error"]["fields"]
    ok = client.patch(f"/records/{world.record.pk}", {"batch": "Z9", "next_due": None})
    assert ok.status_code == 200
    assert (ok.json()["batch"], ok.json()["next_due"]) == ("Z9", None)


# --- Weights -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": 0, "unit": "kg"}, "value"),
        ({"value": -3, "unit": "kg"}, "value"),
        ({"value": 3, "unit": "stone"}, "unit"),
        ({"value": 3000, "unit": "kg"}, "value"),
        ({"value": "heavy", "unit": "kg"}, "value"),
        ({"unit": "kg"}, "value"),
    ],
)
def test_weight_validation(world: World, api_client, body: dict, field: str) -> None:
    response = api_client("alice").post(f"/pets/{world.rex.pk}/weights", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]


def test_weights_in_grams_and_the_pets_unit(world: World, api_client) -> None:
    client = api_client("alice")
    assert client.patch(f"/pets/{world.rex.pk}", {"weight_unit": "lb"}).status_code == 200
    created = client.post(f"/pets/{world.rex.pk}/weights", {"value": 10, "unit": "lb"}).json()
    assert (created["grams"], created["value"], created["unit"]) == (4536, 10.0, "lb")
    listed = client.get(f"/pets/{world.rex.pk}/weights?ordering=date").json()["items"]
    assert {w["grams"] for w in listed} == {12500, 4536}
    assert {w["unit"] for w in listed} == {"lb"}
    assert 27.56 in {w["value"] for w in listed}


# --- Uploads -------------------------------------------------------------------------------


def test_photo_that_is_not_an_image_is_422_on_file(world: World, api_client) -> None:
    before = fingerprint()
    fake = SimpleUploadedFile("rex.png", b"not really a png", content_type="image/png")
    response = api_client("alice").upload(f"/pets/{world.rex.pk}/photos", {"file": fake})
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["file"]
    assert fingerprint() == before


def test_photo_crop_needs_all_three_values(world: World, api_client) -> None:
    client = api_client("alice")
    response = client.upload(
        f"/pets/{world.rex.pk}/photos", {"file": png_upload(), "crop_left": "2"}
    )
    assert response.status_code == 422
    assert "crop" in response.json()["error"]["fields"]
    cropped = client.upload(
        f"/pets/{world.rex.pk}/photos",
        {"file": png_upload(), "crop_left": "2", "crop_top": "2", "crop_size": "20",
         "primary": "true"},
    )  # fmt: skip
    assert cropped.status_code == 201, cropped.content
    photo = cropped.json()
    assert (photo["width"], photo["is_primary"]) == (20, True)
    assert client.get(f"/photos/{photo['id']}/file?variant=full").status_code == 200


def test_photo_without_file_is_422(world: World, api_client) -> None:
    response = api_client("alice").upload(f"/pets/{world.rex.pk}/photos", {"caption": "x"})
    assert response.status_code == 422
    assert "file" in response.json()["error"]["fields"]


def test_attachment_must_be_a_pdf_or_an_image(world: World, api_client) -> None:
    client = api_client("alice")
    text = SimpleUploadedFile("notes.pdf", b"just text", content_type="application/pdf")
    response = client.upload(f"/records/{world.record.pk}/attachments", {"file": text})
    assert response.status_code == 422
    assert "file" in response.json()["error"]["fields"]
    ok = client.upload(f"/records/{world.record.pk}/attachments", {"file": pdf_upload()})
    assert ok.status_code == 201
    download = client.get(ok.json()["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    assert download["Content-Disposition"].startswith("attachment")


# --- Notes, contacts, invitations ----------------------------------------------------------


def test_note_html_is_sanitised(world: World, api_client) -> None:
    body = '<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:x">l</a></p>'
    response = api_client("bob").post(f"/pets/{world.rex.pk}/notes", {"body_html": body})
    assert response.status_code == 201
    stored = Note.objects.get(pk=response.json()["id"]).body_html
    assert "script" not in stored
    assert "onclick" not in stored
    assert "javascript" not in stored
    assert response.json()["body_html"] == stored


def test_empty_note_is_422(world: World, api_client) -> None:
    response = api_client("bob").post(f"/pets/{world.rex.pk}/notes", {"body_html": "<p> </p>"})
    assert response.status_code == 422
    assert "body_html" in response.json()["error"]["fields"]


def test_contact_cannot_link_pets_of_another_household(world: World, api_client) -> None:
    client = api_client("alice")
    response = client.patch(f"/contacts/{world.contact.pk}", {"pet_ids": [world.tom.pk]})
    assert response.status_code == 422
    assert "pet_ids" in response.json()["error"]["fields"]
    bad_email = client.post(
        f"/households/{world.household.pk}/contacts", {"name": "X", "email": "nope"}
    )
    assert bad_email.status_code == 422
    assert "email" in bad_email.json()["error"]["fields"]


def test_pet_microchip_is_validated(world: World, api_client) -> None:
    response = api_client("alice").patch(f"/pets/{world.rex.pk}", {"microchip": "12"})
    assert response.status_code == 422
    assert "microchip" in response.json()["error"]["fields"]


def test_invitations(world: World, api_client) -> None:
    client = api_client("alice")
    path = f"/households/{world.household.pk}/invitations"
    assert client.post(path, {"email": "bob@example.org", "role": "viewer"}).status_code == 409
    bad = client.post(path, {"email": "not-an-email", "role": "viewer"})
    assert "email" in bad.json()["error"]["fields"]
    owner = client.post(path, {"email": "x@example.org", "role": "owner"})
    assert "role" in owner.json()["error"]["fields"]
    created = client.post(path, {"email": "Zed@Example.org", "role": "caretaker"})
    assert created.status_code == 201
    assert created.json()["email"] == "zed@example.org"
    assert Membership.objects.filter(household=world.household, role=Role.OWNER).count() == 1
