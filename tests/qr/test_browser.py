"""A QR manager on a phone: create a code with a frame text, see its image and chart, follow
the scan address (the redirect answers ahead of Django in the real server; the live server
here is Django's, so only the management pages are driven), switch it off."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from pawfile.qr import images
from pawfile.qr.models import QRCode
from tests.e2e.conftest import browser, chromium_executable, page, site_url  # noqa: F401
from tests.e2e.pets_helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_creates_a_code_on_a_phone(page: Page, site_url: str, manager) -> None:  # noqa: F811
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/health", timeout=60_000)  # the live server's first answer is slow
    log_in(page, manager.email)
    page.goto("/qr/")
    page.get_by_role("button", name="New QR code").click()
    page.get_by_label("Title").fill("Adoption day")
    page.get_by_label("Leads to").fill("https://shelter.example/adopt")
    page.get_by_label("Frame text").fill("SCAN ME")
    page.get_by_role("button", name="Create the code").click()
    expect(page).to_have_url(re.compile(r"/qr/[2-9a-z]{10}/$"))
    expect(page.get_by_text("The QR code was created.")).to_be_visible()
    code = QRCode.objects.get()
    expect(page.locator("svg.qr-chart")).to_be_visible()

    image = page.locator("img[alt='QR code']")
    expect(image).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    shot = image.screenshot()
    with Image.open(io.BytesIO(shot)) as picture:
        found = [r.text for r in zxingcpp.read_barcodes(picture.convert("RGB"))]
    assert found == [images.scan_url(code, printed=True)]

    page.get_by_role("button", name="Switch off").click()
    expect(page.get_by_text("The code is off.")).to_be_visible()
    code.refresh_from_db()
    assert not code.is_active
