"""An owner's pet, in a real browser: profile, cropped photo, vaccine, weights, note, PDF.

One person (alice, owner of her household) does everything through the pages, and every
step checks what she sees. The photo is a red/blue picture so the test can tell which part
of it the crop kept.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.conftest import Cast
from tests.e2e.pets_helpers import (
    colour_of,
    image_loaded_size,
    log_in,
    move_crop_to_right_half,
    two_tone_jpeg,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MICROCHIP = "941000024680135"
BIRTH_DATE = dt.date(2021, 5, 14)
PET_URL = re.compile(r"/pets/(\d+)/(#\w+)?$")


def add_pet(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pets", exact=True).click()
    expect(page.get_by_role("heading", name="Pets", exact=True)).to_be_visible()
    page.get_by_role("button", name="Add a pet").click()
    expect(page.get_by_role("heading", name="Add a pet")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Luna")
    page.get_by_label("Species").select_option(label="Cat")
    # Choosing the species refills the breed suggestions with cat breeds.
    expect(page.locator("#breed-options option[value='Siamese']")).to_be_attached()
    expect(page.locator("#breed-options option[value='Beagle']")).not_to_be_attached()
    page.get_by_label("Breed").fill("Siamese")
    page.get_by_label("Birth date", exact=True).fill(BIRTH_DATE.isoformat())
    page.get_by_label("Microchip number").fill(MICROCHIP)
    page.get_by_role("button", name="Add pet").click()

    expect(page).to_have_url(PET_URL)
    expect(page.get_by_role("heading", name="Luna", level=1)).to_be_visible()
    expect(page.get_by_text("Luna was added.")).to_be_visible()
    expect(page.get_by_text("Cat · Siamese")).to_be_visible()
    expect(page.locator(".pet-facts code")).to_have_text(MICROCHIP)


def add_cropped_photo(page: Page, tmp_path: Path) -> None:
    photo = two_tone_jpeg(tmp_path / "luna.jpg")
    page.get_by_role("button", name="Add a photo").click()
    expect(page.get_by_role("heading", name="Add a photo of Luna")).to_be_visible()

    page.get_by_label("Photo", exact=True).set_input_files(photo)
    expect(page.get_by_text("Drag and resize the square")).to_be_visible()
    expect(page.locator(".cropper-container .cropper-crop-box")).to_be_visible()
    left, top, size = move_crop_to_right_half(page)
    # The square lies wholly in the blue (right) half of the 800 × 600 picture.
    assert left >= 400 and left + size <= 800 and top + size <= 600, (left, top, size)
    assert 150 <= size <= 450, f"the crop square was not resized: {size}"

    page.get_by_label("Caption").fill("Luna on the blue blanket")
    with page.expect_response(
        lambda r: r.request.method == "POST" and "/photos/new/" in r.url
    ) as answer:
        page.get_by_role("button", name="Upload photo").click()
    # The script sent it (progress bar and in-place errors), not a plain form post.
    assert answer.value.status == 201, answer.value.text()
    expect(page).to_have_url(re.compile(r"/pets/\d+/#photos$"))
    expect(page.get_by_text("The photo was added.")).to_be_visible()

    header_photo = page.locator(".pet-hero img.pet-photo")
    expect(header_photo).to_have_attribute("alt", "Luna")
    width, height = image_loaded_size(header_photo)
    assert width == height > 0, f"the pet's photo is not square: {width}×{height}"
    expect(page.get_by_role("figure").filter(has_text="Luna on the blue blanket")).to_be_visible()

    # The full-size file is the chosen square: blue, not the red left half or the centre.
    full = page.locator("#photos figure a").first.get_attribute("href")  # the full size
    assert full is not None
    file = page.request.get(full)
    assert file.ok, file.status
    (w, h), (red, _green, blue) = colour_of(file.body())
    assert w == h == size, f"full-size photo is {w}×{h}, the chosen square was {size}"
    assert blue > 180 and red < 60, f"the photo is not the blue half: average colour {red=} {blue=}"


def add_vaccine(page: Page, today: dt.date) -> None:
    health = page.locator(".health-card")
    health.get_by_role("button", name="Add record").click()
    health.get_by_role("link", name="Vaccination").click()
    expect(page.get_by_role("heading", name="New record: Vaccination")).to_be_visible()

    page.get_by_label("Vaccine").fill("Rabies")
    page.get_by_label("Date", exact=True).fill(today.isoformat())
    page.get_by_label("Valid until / next due").fill((today + dt.timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("heading", name="Vaccination: Rabies")).to_be_visible()
    expect(page.locator(".page-header .due-badge")).to_contain_text("Due soon")

    page.get_by_role("link", name="Health of Luna").click()
    page.get_by_role("link", name=re.compile(r"^←\s*Luna$")).click()
    expect(page).to_have_url(PET_URL)
    panel = page.locator(".health-card")
    expect(panel.locator(".card-header .due-badge")).to_contain_text("Due soon")
    rabies = panel.get_by_role("listitem").filter(has_text="Rabies")
    expect(rabies.locator(".due-badge")).to_contain_text("Due soon")


def add_weight(page: Page, day: dt.date, kilograms: str) -> None:
    page.get_by_role("button", name="Add a weight").click()
    expect(page.get_by_role("heading", name="New record: Weight")).to_be_visible()
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Weight (kg)").fill(kilograms)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Health of Luna")).to_be_visible()


def add_weights(page: Page, today: dt.date) -> None:
    page.get_by_role("link", name="All health records").click()
    expect(page.get_by_role("heading", name="Health of Luna")).to_be_visible()
    add_weight(page, today - dt.timedelta(days=14), "4.2")
    add_weight(page, today, "4.5")

    weight = page.locator(".weight-card")
    expect(weight.locator(".weight-latest")).to_contain_text(re.compile(r"4\.50*\s*kg"))
    expect(weight.locator(".weight-latest")).to_contain_text(re.compile(r"up from 4\.20*\s*kg"))
    expect(weight.locator("figure svg polyline").first).to_be_visible()
    expect(page.locator(".timeline-count")).to_contain_text("3 records")


def write_note(page: Page) -> None:
    page.get_by_role("link", name=re.compile(r"^←\s*Luna$")).click()
    page.get_by_role("button", name="Add the first note").click()  # the empty state's
    expect(page.get_by_role("heading", name="New note on Luna")).to_be_visible()

    page.get_by_label("Title").fill("Feeding")
    # Until the editor script has run, the plain textarea is the "Text" box; wait for the
    # editor to take its place rather than click a box that is about to be hidden.
    expect(page.locator("textarea[data-rich-editor]")).to_be_hidden()
    editor = page.get_by_role("textbox", name="Text", exact=True)
    expect(editor).to_be_visible()
    editor.click()
    page.keyboard.type("Twice a day:")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Bulleted list").click()
    page.keyboard.type("Wet food in the morning")
    page.keyboard.press("Enter")
    page.keyboard.type("Dry food at night")
    expect(editor.locator("ul > li")).to_have_count(2)
    page.get_by_role("button", name="Save note").click()

    expect(page).to_have_url(re.compile(r"/pets/\d+/#notes$"))
    note = page.locator("#notes article").filter(has_text="Feeding")
    expect(note.locator(".pet-note-body")).to_contain_text("Twice a day:")
    items = note.locator(".pet-note-body ul > li")
    expect(items).to_have_text(["Wet food in the morning", "Dry food at night"])


def download_report(page: Page, tmp_path: Path) -> str:
    with page.expect_download() as waiting:
        page.get_by_role("button", name="Health report (PDF)").click()
    download = waiting.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    path = tmp_path / "luna-health-report.pdf"
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")
    return "\n".join(page_.extract_text() or "" for page_ in PdfReader(path).pages)


def test_owner_adds_a_pet_with_photo_vaccine_weights_note_and_downloads_report(
    page: Page, site_url: str, cast: Cast, tmp_path: Path
) -> None:
    today = timezone.localdate()
    page.set_viewport_size({"width": 1280, "height": 900})

    log_in(page, cast.alice.email)
    add_pet(page)
    add_cropped_photo(page, tmp_path)
    add_vaccine(page, today)
    add_weights(page, today)
    write_note(page)

    text = download_report(page, tmp_path)
    for expected in ("Luna", MICROCHIP, "Rabies", "Due soon"):
        assert expected in text, f"{expected!r} is not in the PDF report:\n{text}"

    page.screenshot(path=tmp_path / "pet-page.png", full_page=True)
