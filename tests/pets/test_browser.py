"""The pets pages' script in a real browser: crop + upload with progress, the note editor,
breed suggestions that follow the species — all under the strict Content-Security-Policy."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image
from playwright.sync_api import Page, expect

from pawfile.pets.models import Note, Pet, Photo
from tests.conftest import Cast
from tests.e2e.conftest import browser, chromium_executable  # noqa: F401 - fixtures
from tests.pets.test_photos import BLUE, RED, close, halves, stored_pixel

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tab(browser: Any, live_server: Any, cast: Cast) -> Iterator[Page]:  # noqa: F811
    """A tab signed in as alice that may reach only the live server and breaks no CSP rule."""
    client = Client()
    client.force_login(cast.alice)
    context = browser.new_context(locale="en-US", base_url=live_server.url)
    context.set_default_timeout(10_000)
    host = live_server.url.split("://", 1)[1].split(":", 1)[0]
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "domain": host,
                "path": "/",
            }
        ]
    )
    refused: list[str] = []
    problems: list[str] = []

    def only_live_server(route: Any) -> None:
        if route.request.url.startswith(live_server.url + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_live_server)
    page = context.new_page()
    # A refused upload answers 400 on purpose; anything else logged as an error (a CSP
    # violation, a script error) is a problem.
    expected = "the server responded with a status of 400"
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and expected not in m.text else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        yield page
    finally:
        context.close()
    assert refused == []
    assert problems == [], problems


def sideways_photo() -> bytes:
    """Stored 400×200 (red left, blue right) with EXIF orientation 6: upright it is 200×400,
    red on top, blue below."""
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    halves((400, 200), RED, BLUE).save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def test_crop_and_upload_in_the_browser(tab: Page, pet: Pet) -> None:
    tab.goto(f"/pets/{pet.pk}/photos/new/")
    tab.get_by_label("Photo").set_input_files(
        {"name": "sideways.jpg", "mimeType": "image/jpeg", "buffer": sideways_photo()}
    )
    expect(tab.locator(".cropper-crop-box")).to_be_visible()
    expect(tab.locator("input[name=crop_size]")).to_have_value("200")
    # The crop box is in upright pixels: the centre square of a 200×400 picture.
    assert tab.locator("input[name=crop_left]").input_value() == "0"
    assert tab.locator("input[name=crop_top]").input_value() == "100"
    tab.get_by_label("Caption").fill("Upright")
    tab.get_by_role("button", name="Upload photo").click()
    tab.wait_for_url(re.compile(rf"/pets/{pet.pk}/#photos$"))
    expect(tab.get_by_text("The photo was added.")).to_be_visible()
    photo = Photo.objects.get(caption="Upright")
    assert close(stored_pixel(photo, 0.5, 0.1), RED)
    assert close(stored_pixel(photo, 0.5, 0.9), BLUE)
    expect(tab.locator(f"img[src='/photos/{photo.key}/card.jpeg']").first).to_be_visible()


def test_refused_upload_shows_the_reason_in_place(tab: Page, pet: Pet) -> None:
    tab.goto(f"/pets/{pet.pk}/photos/new/")
    tab.get_by_label("Photo").set_input_files(
        {"name": "cat.jpg", "mimeType": "text/plain", "buffer": b"not a picture at all"}
    )
    tab.get_by_role("button", name="Upload photo").click()
    expect(tab.get_by_role("alert")).to_contain_text("not an image")
    assert tab.url.endswith("/photos/new/")
    assert not Photo.objects.exists()


def test_note_editor_writes_html(tab: Page, pet: Pet) -> None:
    tab.goto(f"/pets/{pet.pk}/notes/new/")
    expect(tab.locator("textarea[name=body_html]")).to_be_hidden()
    editor = tab.locator(".pell-content")
    editor.click()
    tab.keyboard.type("Feed ")
    tab.get_by_role("button", name="Bold").click()
    tab.keyboard.type("twice")
    tab.get_by_role("button", name="Save note").click()
    tab.wait_for_url(re.compile(rf"/pets/{pet.pk}/#notes$"))
    note = Note.objects.get()
    assert note.body_text == "Feed twice"
    assert re.search(r"<(b|strong)>twice</(b|strong)>", note.body_html)


def test_breed_suggestions_follow_the_species(tab: Page, cast: Cast) -> None:
    tab.goto(f"/pets/new/?household={cast.household.pk}")
    tab.get_by_label("Species").select_option("cat")
    expect(tab.locator("#breed-options option[value='Maine Coon']")).to_have_count(1)
    expect(tab.locator("#breed-options option[value='Beagle']")).to_have_count(0)
    tab.get_by_label("Species").select_option("dog")
    expect(tab.locator("#breed-options option[value='Beagle']")).to_have_count(1)
