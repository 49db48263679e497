"""On a phone, the owner opens Rex's page and taps "Add to Apple Wallet": the browser saves
``Rex.pkpass``, a zip whose signature ``openssl cms -verify`` accepts and whose QR is Rex's
tag. "Save to Google Wallet" leads to Google's save page with a JWT the service account
signed (followed here only to the redirect: the browser may not leave the live server)."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import jwt
import pytest
from playwright.sync_api import expect

from pawfile.pets.models import Pet
from pawfile.qr.images import scan_url
from tests.conftest import Cast
from tests.documents import wallet_keys
from tests.e2e.pets_helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_owner_downloads_the_wallet_cards_on_a_phone(
    phones: Any,
    site_url: str,
    cast: Cast,
    pet: Pet,
    settings: Any,
    tmp_path: Path,
) -> None:
    apple = wallet_keys.apple_files(tmp_path / "apple")
    google = wallet_keys.google_files(tmp_path / "google")
    wallet_keys.apple_settings(settings, apple)
    wallet_keys.google_settings(settings, google)
    rex = wallet_keys.wallet_pet(cast, pet)
    page = phones().new_page()
    log_in(page, "alice@example.org")
    page.goto(f"/pets/{rex.pk}/")
    card = page.locator("article", has=page.get_by_role("heading", name="Wallet card"))
    expect(card).to_be_visible()
    with page.expect_download() as waiting:
        card.get_by_role("button", name="Add to Apple Wallet").click()
    download = waiting.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename == "Rex.pkpass"  # filename*: the real name
    saved = tmp_path / "rex.pkpass"
    download.save_as(saved)

    archive = zipfile.ZipFile(io.BytesIO(saved.read_bytes()))
    (tmp_path / "manifest.json").write_bytes(archive.read("manifest.json"))
    (tmp_path / "signature").write_bytes(archive.read("signature"))
    result = subprocess.run(
        [
            "openssl", "cms", "-verify", "-binary", "-inform", "DER",
            "-in", str(tmp_path / "signature"), "-content", str(tmp_path / "manifest.json"),
            "-CAfile", str(apple.root), "-certfile", str(apple.root.parent / "wwdr.pem"),
            "-purpose", "any", "-out", "/dev/null",
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(archive.read("pass.json"))
    assert data["barcodes"][0]["message"] == scan_url(rex.wallet_tag, printed=True)
    assert data["barcodes"][0]["message"].startswith(site_url + "/r/")

    google_button = card.get_by_role("button", name="Save to Google Wallet")
    href = google_button.get_attribute("href")
    assert href == f"/pets/{rex.pk}/wallet/google"
    answer = page.request.get(href, max_redirects=0)
    assert answer.status == 302
    location = answer.headers["location"]
    token = location.removeprefix("https://pay.google.com/gp/v/save/")
    assert token != location
    claims = jwt.decode(
        token, google.key_object.public_key(), algorithms=["RS256"], audience="google"
    )
    assert claims["origins"] == [site_url]
    assert claims["payload"]["genericObjects"][0]["header"]["defaultValue"]["value"] == "Rex"


def test_a_pet_without_a_public_page_asks_to_make_one_first(
    phones: Any,
    site_url: str,
    cast: Cast,
    pet: Pet,
    settings: Any,
    tmp_path: Path,
) -> None:
    """No tag and no public page: the Apple link shows the one-button page (opening it makes
    nothing); its button makes the page and the pass downloads, its QR the page's address."""
    from pawfile.lostpet.models import PublicProfile

    wallet_keys.apple_settings(settings, wallet_keys.apple_files(tmp_path / "apple"))
    rex = wallet_keys.wallet_pet(cast, pet, tag=False, photo=False)
    page = phones().new_page()
    log_in(page, "alice@example.org")
    page.goto(f"/pets/{rex.pk}/")
    page.get_by_role("button", name="Add to Apple Wallet").click()
    expect(page.get_by_role("heading", name="Public page needed")).to_be_visible()
    assert not PublicProfile.objects.filter(pet=rex).exists()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"

    with page.expect_download() as waiting:
        page.get_by_role("button", name="Make the public page and continue").click()
    download = waiting.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename == "Rex.pkpass"
    profile = PublicProfile.objects.get(pet=rex)
    saved = tmp_path / "rex.pkpass"
    download.save_as(saved)
    data = json.loads(zipfile.ZipFile(saved).read("pass.json"))
    assert data["barcodes"][0]["message"] == f"{site_url}/p/{profile.slug}"
