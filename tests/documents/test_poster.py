"""The lost poster: its text in English and Spanish, its QR code decoded back to the right
address, what it says about reaching the owner, and who may download it."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from django.conf import settings
from PIL import Image
from pypdf import PdfReader

from pawfile.lostpet import services as lostpet_services
from pawfile.lostpet.choices import ContactMode
from pawfile.qr import images as qr_images
from pawfile.qr import services as qr_services
from tests.documents.conftest import pdf_text
from tests.lostpet import conftest as lostpet_conftest
from tests.lostpet.conftest import PUBLIC, Lost

lost = lostpet_conftest.lost  # the lost-pet tests' fixture: Rex, lost, everything filled in


def decoded_codes(pdf: bytes) -> list[str]:
    """Every QR code found in the pictures of the PDF's first page."""
    found = []
    for picture in PdfReader(io.BytesIO(pdf)).pages[0].images:
        with Image.open(io.BytesIO(picture.data)) as image:
            found += [r.text for r in zxingcpp.read_barcodes(image.convert("RGB"))]
    return found


def download(lost: Lost, who: str = "alice", lang: str = "en"):
    return lost.cast.client_for(who).get(f"/pets/{lost.pet.pk}/poster.pdf?lang={lang}")


@pytest.mark.parametrize(
    ("lang", "headline", "reward"), [("en", "LOST", "Reward"), ("es", "SE BUSCA", "Recompensa")]
)
def test_poster_text_and_photo(lost: Lost, lang: str, headline: str, reward: str) -> None:
    response = download(lost, lang=lang)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "rex-lost-poster.pdf" in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert headline in text and "Rex" in text and "Beagle" in text
    assert f"{reward}: {PUBLIC['reward']}" in text
    assert PUBLIC["last seen place"] in text and PUBLIC["lost message"] in text
    # The owner shows contacts on the public page: the poster lists them, never others.
    assert PUBLIC["contact phone"] in text
    assert "+34 611 222 333" not in text and "alice@example.org" not in text
    assert len(PdfReader(io.BytesIO(response.content)).pages) == 1
    assert len(PdfReader(io.BytesIO(response.content)).pages[0].images) == 2  # photo + QR


def test_qr_is_the_first_active_tag(lost: Lost) -> None:
    first = qr_services.pet_code_create(actor=lost.cast.alice, pet=lost.pet)
    qr_services.pet_code_create(actor=lost.cast.alice, pet=lost.pet)
    assert decoded_codes(download(lost).content) == [qr_images.scan_url(first, printed=True)]


def test_without_a_tag_the_qr_leads_to_the_public_page(lost: Lost) -> None:
    assert decoded_codes(download(lost).content) == [
        f"{settings.PAWFILE_BASE_URL}/p/{lost.profile.slug}"
    ]


def test_hidden_contacts_say_scan_the_code(lost: Lost) -> None:
    lostpet_services.profile_update(
        actor=lost.cast.alice, pet=lost.pet, contact_mode=ContactMode.FORM
    )
    text = pdf_text(download(lost).content)
    assert PUBLIC["contact phone"] not in text and PUBLIC["contact name"] not in text
    assert "Scan the code" in text
    es = pdf_text(download(lost, lang="es").content)
    assert "Escanea el código" in es


def test_a_pet_not_lost_and_without_photo_still_gets_a_poster(cast, pet) -> None:
    """Without tag or public page the GET makes nothing and asks for the POST that makes
    the page (the poster's code leads there), then the poster comes."""
    from pawfile.lostpet.models import PublicProfile

    client = cast.client_for("carol")
    url = f"/pets/{pet.pk}/poster.pdf?lang=en"
    asked = client.get(url)
    assert asked.status_code == 200 and 'method="post"' in asked.content.decode()
    assert PublicProfile.objects.count() == 0
    made = client.post(url)
    assert made.status_code == 303 and made["Location"] == url
    response = client.get(url)
    assert response.status_code == 200
    slug = PublicProfile.objects.get(pet=pet).slug
    assert decoded_codes(response.content) == [f"{settings.PAWFILE_BASE_URL}/p/{slug}"]
    assert "LOST" in pdf_text(response.content) and "Rex" in pdf_text(response.content)


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 200), ("bob", 200), ("carol", 200), ("charlie", 404), (None, 302)],
    ids=["owner", "caretaker", "viewer", "stranger", "anonymous"],
)
def test_access(lost: Lost, who, status) -> None:
    response = lost.cast.client_for(who).get(f"/pets/{lost.pet.pk}/poster.pdf")
    assert response.status_code == status
    if who is None:
        assert "/accounts/login/" in response["Location"]


def test_poster_buttons_show_on_the_pet_page_while_lost(lost: Lost) -> None:
    client = lost.cast.client_for("carol")
    assert (
        f"/pets/{lost.pet.pk}/poster.pdf?lang=es"
        in client.get(f"/pets/{lost.pet.pk}/").content.decode()
    )
    lostpet_services.found_mark(actor=lost.cast.alice, pet=lost.pet)
    assert "poster.pdf" not in client.get(f"/pets/{lost.pet.pk}/").content.decode()
