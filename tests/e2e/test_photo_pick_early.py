"""A picture chosen before the page's script has run still gets the crop box.

On a slow connection a person can pick a file while ``pets.js`` is still on its way; the
input's change event has fired by the time the script attaches its listener. The script
must look at the input when it starts, not only wait for a change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pawfile.pets.services import pet_create
from tests.conftest import Cast
from tests.e2e.pets_helpers import log_in, two_tone_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_file_picked_before_the_script_ran_shows_the_crop_box(
    page: Page, site_url: str, cast: Cast, tmp_path: Path
) -> None:
    pet = pet_create(actor=cast.alice, household=cast.household, name="Luna", species="cat")
    log_in(page, cast.alice.email)
    held: list[Any] = []
    page.route("**/pawfile/pets*.js", lambda route: held.append(route))  # held until released

    page.goto(f"/pets/{pet.pk}/photos/new/", wait_until="commit")
    page.get_by_label("Photo", exact=True).set_input_files(two_tone_jpeg(tmp_path / "a.jpg"))
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page never asked for its script"
    held[0].continue_()

    expect(page.get_by_text("Drag and resize the square")).to_be_visible()
    expect(page.locator(".cropper-container .cropper-crop-box")).to_be_visible()
