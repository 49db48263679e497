"""Record forms: one form per kind, the service's refusals shown on the fields, weights in
the pet's unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from pawfile.health import services
from pawfile.health.forms import RecordForm
from pawfile.health.models import HealthRecord
from tests.conftest import Cast
from tests.health.samples import days


def _new(client: Client, pet, kind: str, data: dict):
    return client.post(f"/pets/{pet.pk}/records/new/{kind}/", data)


def _field_error(page: str, field: str) -> str:
    """The inline error text under ``field`` (empty when there is none)."""
    marker = f'id="id_{field}_error">'
    if marker not in page:
        return ""
    return page.split(marker, 1)[1].split("</small>", 1)[0]


def test_each_kind_offers_only_its_own_fields() -> None:
    assert set(RecordForm(kind="weight").fields) == {"date", "weight", "notes"}
    vaccine = RecordForm(kind="vaccination")
    assert set(vaccine.fields) == {
        "date", "name", "manufacturer", "batch", "next_due", "vet_name", "clinic", "notes",
    }  # fmt: skip
    assert vaccine.fields["name"].label == "Vaccine"
    assert vaccine.fields["name"].required
    assert RecordForm(kind="allergy").fields["name"].label == "Allergen"
    assert "cost" in RecordForm(kind="visit").fields
    assert "batch" not in RecordForm(kind="visit").fields


def test_weight_form_refuses_a_vaccine_field(cast: Cast, pet) -> None:
    response = _new(cast.client_for("alice"), pet, "weight", {
        "date": days(0).isoformat(), "weight": "12", "batch": "LOT-1",
    })  # fmt: skip
    assert response.status_code == 400
    assert "do not apply to a weight record: batch" in response.content.decode()
    assert not HealthRecord.objects.exists()


def test_name_is_required(cast: Cast, pet) -> None:
    response = _new(cast.client_for("bob"), pet, "vaccination", {"date": days(0).isoformat()})
    assert response.status_code == 400
    assert "required" in _field_error(response.content.decode(), "name")
    assert not HealthRecord.objects.exists()


def test_next_due_before_the_date_is_refused_on_its_field(cast: Cast, pet) -> None:
    response = _new(cast.client_for("alice"), pet, "vaccination", {
        "date": days(-5).isoformat(), "name": "Rabies", "next_due": days(-10).isoformat(),
    })  # fmt: skip
    assert response.status_code == 400
    assert "after the date" in _field_error(response.content.decode(), "next_due")
    assert not HealthRecord.objects.exists()


def test_cost_needs_a_currency(cast: Cast, pet) -> None:
    client = cast.client_for("alice")
    data = {"date": days(-1).isoformat(), "name": "Check-up", "cost": "45.50"}
    response = _new(client, pet, "visit", data)
    assert response.status_code == 400
    assert "currency" in _field_error(response.content.decode(), "currency")
    assert not HealthRecord.objects.exists()
    response = _new(client, pet, "visit", {**data, "currency": "eur"})
    assert response.status_code == 302
    record = HealthRecord.objects.get()
    assert (record.cost, record.currency) == (Decimal("45.50"), "EUR")
    assert "45.50 EUR" in client.get(f"/records/{record.pk}/").content.decode()


def test_a_future_date_is_refused(cast: Cast, pet) -> None:
    response = _new(cast.client_for("alice"), pet, "allergy", {
        "date": days(10).isoformat(), "name": "Pollen",
    })  # fmt: skip
    assert response.status_code == 400
    assert "future" in _field_error(response.content.decode(), "date")
    assert not HealthRecord.objects.exists()


@pytest.mark.parametrize("value", ["0", "-3", "abc", "99999999"])
def test_nonsense_weights_are_refused_on_the_weight_field(cast: Cast, pet, value: str) -> None:
    response = _new(cast.client_for("alice"), pet, "weight", {
        "date": days(0).isoformat(), "weight": value,
    })  # fmt: skip
    assert response.status_code == 400
    assert _field_error(response.content.decode(), "weight")
    assert not HealthRecord.objects.exists()


def test_weight_in_pounds_is_stored_in_grams_and_shown_back_in_pounds(cast: Cast, pet) -> None:
    pet.weight_unit = "lb"
    pet.save()
    client = cast.client_for("alice")
    response = _new(client, pet, "weight", {"date": days(0).isoformat(), "weight": "10"})
    assert response.status_code == 302
    assert response["Location"] == f"/pets/{pet.pk}/timeline/"
    record = HealthRecord.objects.get()
    assert record.weight_grams == 4536
    edit = client.get(f"/records/{record.pk}/edit/").content.decode()
    assert "Weight (lb)" in edit
    assert 'name="weight" value="10"' in edit
    assert "10 lb" in client.get(f"/records/{record.pk}/").content.decode()
    assert "10 lb" in client.get(f"/pets/{pet.pk}/timeline/").content.decode()


def test_weight_in_spanish_takes_a_decimal_comma(cast: Cast, pet) -> None:
    cast.alice.locale = "es"
    cast.alice.save()
    client = cast.client_for("alice")
    response = _new(client, pet, "weight", {"date": days(0).isoformat(), "weight": "12,5"})
    assert response.status_code == 302
    assert HealthRecord.objects.get().weight_grams == 12500


def test_weight_in_english_takes_a_decimal_comma_too(cast: Cast, pet) -> None:
    client = cast.client_for("alice")
    response = _new(client, pet, "weight", {"date": days(0).isoformat(), "weight": "30,0"})
    assert response.status_code == 302
    assert HealthRecord.objects.get().weight_grams == 30000
    ambiguous = _new(client, pet, "weight", {"date": days(0).isoformat(), "weight": "1,250"})
    assert ambiguous.status_code == 400
    assert "could mean 1250 or 1.250" in _field_error(ambiguous.content.decode(), "weight")


def test_edit_keeps_the_kind_and_saves_through_the_service(cast: Cast, pet) -> None:
    record = services.record_create(
        actor=cast.alice, pet=pet, kind="medication", name="Antibiotic", date=days(-3)
    )
    client = cast.client_for("bob")
    page = client.get(f"/records/{record.pk}/edit/").content.decode()
    assert 'value="Antibiotic"' in page
    response = client.post(f"/records/{record.pk}/edit/", {
        "date": days(-3).isoformat(), "name": "Antibiotic", "dose": "250 mg",
        "end_date": days(-5).isoformat(),
    })  # fmt: skip
    assert response.status_code == 400
    assert "after the start date" in _field_error(response.content.decode(), "end_date")
    response = client.post(f"/records/{record.pk}/edit/", {
        "date": days(-3).isoformat(), "name": "Antibiotic", "dose": "250 mg",
        "kind": "weight",
    })  # fmt: skip
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.kind, record.dose) == ("medication", "250 mg")


def test_delete_removes_the_record_and_its_files(
    cast: Cast, pet, django_capture_on_commit_callbacks
) -> None:
    from tests.health.samples import minimal_pdf, stored_files, upload

    record = services.record_create(actor=cast.alice, pet=pet, kind="lab", name="Blood")
    services.attachment_add(
        actor=cast.alice,
        record=record,
        upload=upload("r.pdf", minimal_pdf(), "application/pdf"),
        filename="r.pdf",
    )
    assert len(stored_files()) == 1
    client = cast.client_for("bob")
    confirm = client.get(f"/records/{record.pk}/delete/").content.decode()
    assert "Its attached file is deleted too." in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/records/{record.pk}/delete/")
    assert response.status_code == 302
    assert not HealthRecord.objects.filter(pk=record.pk).exists()
    assert stored_files() == []
