"""What the health report says, in English and Spanish, with and without data."""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfReader

from pawfile.documents.report import report_pdf
from pawfile.pets.models import Pet
from pawfile.pets.photos import photo_add
from pawfile.pets.services import pet_update
from tests.conftest import Cast
from tests.documents.conftest import pdf_text


def download(cast: Cast, pet: Pet, who: str = "alice", lang: str = "en") -> bytes:
    response = cast.client_for(who).get(f"/pets/{pet.pk}/report.pdf", HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    return response.content


def test_english_report_shows_the_pet_and_its_health(cast: Cast, rex: Pet) -> None:
    text = pdf_text(download(cast, rex, "carol"))
    for expected in (
        "HEALTH REPORT",
        "Rex",
        "Beagle",
        "Male",
        "3 years, 1 month",
        "941000024680135",
        "Rabies",
        "Up to date",
        "Leptospirosis",
        "Overdue",
        "Milbemax",
        "Due soon",
        "Apoquel",
        "ongoing",
        "Chicken protein",
        "Pollen",
        "Itchy skin",
        "Annual check-up",
        "Neighbour Nina",
        "alice@example.org",
        "Dr. Pérez",
        "Clínica Sol",
        "12.5 kg",
        "Weight history (kg)",
        "Generated on",
    ):
        assert expected in text, expected
    # A course of medication that has ended is not "current".
    assert "Amoxicillin" not in text


def test_spanish_report(cast: Cast, rex: Pet) -> None:
    text = pdf_text(download(cast, rex, lang="es"))
    for expected in (
        "INFORME DE SALUD",
        "Vacunas",
        "Desparasitación",
        "Medicación actual",
        "Alergias",
        "Visitas recientes al veterinario",
        "Al día",
        "Vencida",
        "Perro",
        "Macho",
        "12,5 kg",
        "Generado el",
    ):
        assert expected in text, expected
    assert "HEALTH REPORT" not in text


def test_weight_in_pounds_for_a_pet_weighed_in_pounds(cast: Cast, rex: Pet) -> None:
    pet_update(actor=cast.alice, pet=rex, weight_unit="lb")
    text = pdf_text(download(cast, rex))
    assert "27.6 lb" in text  # 12.5 kg
    assert "12.5 kg" not in text


def test_a_pet_with_no_records_still_renders(cast: Cast, pet: Pet) -> None:
    text = pdf_text(download(cast, pet))
    assert "Rex" in text
    assert "No vaccinations recorded." in text
    assert "No weights recorded." in text
    assert "No known allergies." in text


def test_transparent_png_photo(cast: Cast, pet: Pet) -> None:
    picture = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    picture.paste((200, 80, 20, 255), (100, 50, 200, 150))
    upload = io.BytesIO()
    picture.save(upload, "PNG")
    upload.seek(0)
    photo_add(actor=cast.alice, pet=pet, upload=upload)
    reader = PdfReader(io.BytesIO(download(cast, pet)))
    assert len(reader.pages[0].images) == 1


def test_a_damaged_photo_file_costs_the_photo_not_the_report(cast: Cast, pet: Pet) -> None:
    from django.core.files.storage import default_storage

    picture = Image.new("RGB", (64, 64), (10, 120, 200))
    upload = io.BytesIO()
    picture.save(upload, "JPEG")
    upload.seek(0)
    photo = photo_add(actor=cast.alice, pet=pet, upload=upload)
    name = photo.path("card", "jpeg")
    default_storage.delete(name)
    default_storage.save(name, io.BytesIO(b"not a jpeg at all"))
    pdf = download(cast, pet)
    assert "Rex" in pdf_text(pdf)
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 0


def test_user_text_is_never_read_as_markup(cast: Cast, pet: Pet) -> None:
    pet_update(actor=cast.alice, pet=pet, allergies='#panic("boom") *bold* $x^2$ #read("/etc")')
    text = pdf_text(report_pdf(user=cast.alice, pet_id=pet.pk, lang="en"))
    assert '#panic("boom") *bold* $x^2$ #read("/etc")' in text
