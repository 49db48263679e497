"""Who gets a pet's wallet cards (web and API, owner/caretaker/viewer/stranger/anonymous), and
the wallet card of the pet page with the wallets set up, not set up, and set up wrongly."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import jwt
import pytest

from pawfile.lostpet.models import PublicProfile
from pawfile.lostpet.services import profile_for_pet
from pawfile.pets.models import Pet
from tests.conftest import Cast
from tests.documents import wallet_keys
from tests.documents.wallet_keys import AppleFiles, GoogleFiles

API = "/documents-api"
ROLES = [("alice", 200), ("bob", 200), ("carol", 200), ("charlie", 404), (None, 302)]
API_ROLES = [("alice", 200), ("bob", 200), ("carol", 200), ("charlie", 404), (None, 401)]


@pytest.fixture
def pet(pet: Pet) -> Pet:
    """Rex with his public page made (the card's QR leads there): the downloads answer at
    once. A pet without one is ``bare`` (the tests of the page-making POST, below)."""
    profile_for_pet(pet)
    return pet


@pytest.fixture
def bare(cast: Cast) -> Pet:
    """Rex with neither tag nor public page."""
    return Pet.objects.create(household=cast.household, name="Rex", species="dog")


@pytest.fixture
def keys(settings: Any, tmp_path: Path) -> tuple[AppleFiles, GoogleFiles]:
    apple = wallet_keys.apple_files(tmp_path / "apple")
    google = wallet_keys.google_files(tmp_path / "google")
    wallet_keys.apple_settings(settings, apple)
    wallet_keys.google_settings(settings, google)
    return apple, google


@pytest.mark.parametrize(("who", "status"), ROLES)
def test_web_apple_access(cast: Cast, pet: Pet, keys: Any, who: str | None, status: int) -> None:
    response = cast.client_for(who).get(f"/pets/{pet.pk}/wallet/apple.pkpass")
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/vnd.apple.pkpass"
        assert response["Content-Disposition"] == (
            "attachment; filename=\"rex.pkpass\"; filename*=UTF-8''Rex.pkpass"
        )
        assert "no-store" in response["Cache-Control"]
        assert "pass.json" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    if status == 302:
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(("who", "status"), [(w, 302 if s == 200 else s) for w, s in ROLES])
def test_web_google_access(cast: Cast, pet: Pet, keys: Any, who: str | None, status: int) -> None:
    response = cast.client_for(who).get(f"/pets/{pet.pk}/wallet/google")
    assert response.status_code == status
    if who is None:
        assert response["Location"].startswith("/accounts/login/")
    elif status == 302:
        assert response["Location"].startswith("https://pay.google.com/gp/v/save/")


@pytest.mark.parametrize(("who", "status"), ROLES)
def test_stranger_gets_404_even_when_unconfigured(
    cast: Cast, pet: Pet, settings: Any, who: str | None, status: int
) -> None:
    """A wallet that is not set up tells members so (409) and strangers nothing (404)."""
    wallet_keys.wallets_unset(settings)
    for url in (f"/pets/{pet.pk}/wallet/apple.pkpass", f"/pets/{pet.pk}/wallet/google"):
        response = cast.client_for(who).get(url)
        assert response.status_code == (409 if status == 200 else status)


def test_unknown_pet_and_post(cast: Cast, pet: Pet, keys: Any) -> None:
    client = cast.client_for("alice")
    assert client.get("/pets/999999/wallet/apple.pkpass").status_code == 404
    assert client.get("/pets/999999/wallet/google").status_code == 404
    assert client.post("/pets/999999/wallet/apple.pkpass").status_code == 404
    assert client.put(f"/pets/{pet.pk}/wallet/apple.pkpass").status_code == 405
    assert client.delete(f"/pets/{pet.pk}/wallet/google").status_code == 405


# --- A pet with neither tag nor public page ---------------------------------------------------


@pytest.mark.parametrize("wallet", ["apple.pkpass", "google"])
def test_web_get_makes_no_page_and_the_post_does(
    cast: Cast, bare: Pet, keys: Any, wallet: str
) -> None:
    client = cast.client_for("carol")  # a viewer may get the card, so may make the page
    url = f"/pets/{bare.pk}/wallet/{wallet}"
    asked = client.get(url)
    assert asked.status_code == 200
    body = asked.content.decode()
    assert f'action="{url}"' in body and 'method="post"' in body
    assert PublicProfile.objects.count() == 0
    made = client.post(url)
    assert made.status_code == 303 and made["Location"] == url
    assert PublicProfile.objects.filter(pet=bare).count() == 1
    after = client.get(url)
    assert after.status_code == (200 if wallet == "apple.pkpass" else 302)
    assert client.post(url).status_code == 303  # again: the same page, nothing new
    assert PublicProfile.objects.count() == 1


def test_web_post_needs_the_csrf_token_and_membership(cast: Cast, bare: Pet, keys: Any) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cast.alice)
    assert strict.post(f"/pets/{bare.pk}/wallet/apple.pkpass").status_code == 403
    assert cast.client_for("charlie").post(f"/pets/{bare.pk}/wallet/google").status_code == 404
    assert PublicProfile.objects.count() == 0


def test_web_unconfigured_wallet_says_so_before_asking_for_a_page(
    cast: Cast, bare: Pet, settings: Any
) -> None:
    wallet_keys.wallets_unset(settings)
    assert cast.client_for("alice").get(f"/pets/{bare.pk}/wallet/google").status_code == 409


@pytest.mark.urls("tests.documents.urls")
def test_api_get_makes_no_page_and_the_post_does(cast: Cast, bare: Pet, keys: Any) -> None:
    client = cast.client_for("bob")
    body = client.get(f"{API}/pets/{bare.pk}/wallet").json()
    assert body["public_page_missing"] is True and body["google_url"] is None
    assert body["configured"] == {"apple": True, "google": True}
    assert "public page" in body["messages"]["google"]
    refused = client.get(body["apple_url"])
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "public_page_missing"
    assert PublicProfile.objects.count() == 0
    made = client.post(body["apple_url"])
    assert made.status_code == 200, made.content[:300]
    slug = PublicProfile.objects.get(pet=bare).slug
    card = json.loads(zipfile.ZipFile(io.BytesIO(made.content)).read("pass.json"))
    assert card["barcodes"][0]["message"].endswith(f"/p/{slug}")
    again = client.get(f"{API}/pets/{bare.pk}/wallet").json()
    assert again["public_page_missing"] is False and again["google_url"]
    assert cast.client_for("charlie").post(body["apple_url"]).status_code == 404


def test_file_name_keeps_accents(cast: Cast, pet: Pet, keys: Any) -> None:
    pet.name = "Ñandú"
    pet.save()
    response = cast.client_for("alice").get(f"/pets/{pet.pk}/wallet/apple.pkpass")
    assert response["Content-Disposition"] == (
        "attachment; filename=\"nandu.pkpass\"; filename*=UTF-8''%C3%91and%C3%BA.pkpass"
    )


# --- API ------------------------------------------------------------------------------------


@pytest.mark.urls("tests.documents.urls")
@pytest.mark.parametrize(("who", "status"), API_ROLES)
def test_api_wallet_access(
    cast: Cast, pet: Pet, keys: tuple[AppleFiles, GoogleFiles], who: str | None, status: int
) -> None:
    response = cast.client_for(who).get(f"{API}/pets/{pet.pk}/wallet")
    assert response.status_code == status
    body = response.json()
    if status != 200:
        assert body["error"]["code"] in {"not_found", "unauthenticated"}
        return
    assert body["configured"] == {"apple": True, "google": True}
    assert body["messages"] == {"apple": "", "google": ""}
    assert body["apple_url"] == f"http://testserver{API}/pets/{pet.pk}/wallet/apple.pkpass"
    token = body["google_url"].removeprefix("https://pay.google.com/gp/v/save/")
    claims = jwt.decode(
        token, keys[1].key_object.public_key(), algorithms=["RS256"], audience="google"
    )
    assert claims["payload"]["genericObjects"][0]["header"]["defaultValue"]["value"] == "Rex"
    # The Apple URL answers with the pass, for the same caller.
    download = cast.client_for(who).get(body["apple_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/vnd.apple.pkpass"


@pytest.mark.urls("tests.documents.urls")
@pytest.mark.parametrize(("who", "status"), API_ROLES)
def test_api_pkpass_access(cast: Cast, pet: Pet, keys: Any, who: str | None, status: int) -> None:
    response = cast.client_for(who).get(f"{API}/pets/{pet.pk}/wallet/apple.pkpass")
    assert response.status_code == status
    if status == 200:
        assert zipfile.ZipFile(io.BytesIO(response.content)).read("signature")


@pytest.mark.urls("tests.documents.urls")
def test_api_unconfigured(cast: Cast, pet: Pet, settings: Any) -> None:
    wallet_keys.wallets_unset(settings)
    client = cast.client_for("carol")
    body = client.get(f"{API}/pets/{pet.pk}/wallet").json()
    assert body["apple_url"] is None and body["google_url"] is None
    assert body["configured"] == {"apple": False, "google": False}
    assert "WALLET_APPLE_PASS_TYPE_ID" in body["messages"]["apple"]
    assert "WALLET_GOOGLE_KEY_FILE" in body["messages"]["google"]
    refused = client.get(f"{API}/pets/{pet.pk}/wallet/apple.pkpass")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "wallet_not_configured"
    assert "WALLET_APPLE_CERT_PATH" in refused.json()["error"]["message"]


@pytest.mark.urls("tests.documents.urls")
def test_api_broken_key_is_409_not_500(
    cast: Cast, pet: Pet, keys: tuple[AppleFiles, GoogleFiles]
) -> None:
    keys[0].key.write_bytes(b"garbage")
    keys[1].key_file.write_text("{}")
    client = cast.client_for("alice")
    body = client.get(f"{API}/pets/{pet.pk}/wallet").json()
    assert body["configured"] == {"apple": False, "google": False}
    assert body["messages"]["apple"].startswith("WALLET_APPLE_KEY_PATH:")
    assert body["messages"]["google"].startswith("WALLET_GOOGLE_KEY_FILE:")
    refused = client.get(f"{API}/pets/{pet.pk}/wallet/apple.pkpass")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "wallet_config_broken"


# --- The pet page's wallet card ----------------------------------------------------------------


def page(cast: Cast, pet: Pet, who: str = "carol", **extra: Any) -> str:
    response = cast.client_for(who).get(f"/pets/{pet.pk}/", **extra)
    assert response.status_code == 200
    return response.content.decode()


def test_panel_with_both_wallets(cast: Cast, pet: Pet, keys: Any) -> None:
    html = page(cast, pet)
    assert "Wallet card" in html
    assert f'href="/pets/{pet.pk}/wallet/apple.pkpass"' in html
    assert f'href="/pets/{pet.pk}/wallet/google"' in html
    assert "Add to Apple Wallet" in html and "Save to Google Wallet" in html
    assert "not set up" not in html


def test_panel_without_configuration_says_what_to_set(cast: Cast, pet: Pet, settings: Any) -> None:
    wallet_keys.wallets_unset(settings)
    html = page(cast, pet)
    assert "/wallet/apple.pkpass" not in html and "/wallet/google" not in html
    assert "Apple Wallet is not set up on this server." in html
    assert "WALLET_APPLE_PASS_TYPE_ID, WALLET_APPLE_TEAM_ID, WALLET_APPLE_CERT_PATH" in html
    assert "Google Wallet is not set up on this server." in html
    assert "WALLET_GOOGLE_ISSUER_ID, WALLET_GOOGLE_KEY_FILE" in html


def test_panel_with_one_wallet(cast: Cast, pet: Pet, settings: Any, tmp_path: Path) -> None:
    wallet_keys.wallets_unset(settings)
    wallet_keys.google_settings(settings, wallet_keys.google_files(tmp_path))
    html = page(cast, pet)
    assert "Save to Google Wallet" in html
    assert "Add to Apple Wallet" not in html
    assert "Apple Wallet is not set up on this server." in html


def test_panel_follows_a_change_of_configuration(
    cast: Cast, pet: Pet, keys: tuple[AppleFiles, GoogleFiles]
) -> None:
    """The pet page is cached; the wallet card is drawn for every request."""
    assert "Add to Apple Wallet" in page(cast, pet)
    keys[0].cert.write_bytes(b"broken")
    html = page(cast, pet)
    assert "Add to Apple Wallet" not in html
    assert "Apple Wallet is set up wrongly on this server:" in html
    assert "WALLET_APPLE_CERT_PATH: the file is not a certificate" in html


def test_panel_in_spanish(cast: Cast, pet: Pet, settings: Any) -> None:
    wallet_keys.wallets_unset(settings)
    html = page(cast, pet, HTTP_ACCEPT_LANGUAGE="es")
    assert "Tarjeta para el móvil" in html
    assert "Apple Wallet no está configurado en este servidor." in html
    assert "Para ofrecer pases de Apple Wallet, define WALLET_APPLE_PASS_TYPE_ID" in html


# --- Export ----------------------------------------------------------------------------------


def test_export_lists_the_ids_wallet_cards_carry(
    cast: Cast, pet: Pet, keys: Any, settings: Any
) -> None:
    """Nothing is stored; the export names the ids a saved card of each pet carries."""
    from pawfile.documents.wallet.data import pass_serial
    from pawfile.privacy.export import export_document

    data, _files = export_document(user=cast.carol)
    assert data["wallet_passes"] == [
        {
            "pet_id": pet.pk,
            "serial": pass_serial(pet),
            "google_object_id": f"{wallet_keys.ISSUER_ID}.{pass_serial(pet)}",
        }
    ]
    settings.WALLET_GOOGLE_ISSUER_ID = ""
    assert export_document(user=cast.charlie)[0]["wallet_passes"] == []
    rows = export_document(user=cast.alice)[0]["wallet_passes"]
    assert rows[0]["google_object_id"] is None
