"""The "Save to Google Wallet" link: a JWT signed RS256 with the service account's key, checked
with its public key; its claims and the generic object; and a key file that is missing or
wrong (a clear 409, never a 500). No call to Google is made (the browser opens the link)."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pawfile.documents.wallet import google
from pawfile.documents.wallet.data import pass_serial
from pawfile.pets.models import Pet
from pawfile.qr.images import scan_url
from tests.conftest import Cast
from tests.documents import wallet_keys
from tests.documents.wallet_keys import GoogleFiles


@pytest.fixture
def google_keys(settings: Any, tmp_path: Path) -> GoogleFiles:
    files = wallet_keys.google_files(tmp_path / "google")
    wallet_keys.google_settings(settings, files)
    return files


@pytest.fixture
def rex(cast: Cast, pet: Pet) -> Pet:
    return wallet_keys.wallet_pet(cast, pet)


def save_link(cast: Cast, pet: Pet, who: str = "alice", **extra: Any) -> str:
    response = cast.client_for(who).get(f"/pets/{pet.pk}/wallet/google", **extra)
    assert response.status_code == 302, response.content[:500]
    assert "no-store" in response["Cache-Control"]
    return str(response["Location"])


def token_of(link: str) -> str:
    assert link.startswith("https://pay.google.com/gp/v/save/")
    return link.removeprefix("https://pay.google.com/gp/v/save/")


def verified(token: str, files: GoogleFiles) -> dict[str, Any]:
    return jwt.decode(token, files.key_object.public_key(), algorithms=["RS256"], audience="google")


def test_jwt_is_signed_with_the_service_account_key(
    cast: Cast, rex: Pet, google_keys: GoogleFiles, settings: Any
) -> None:
    settings.PAWFILE_BASE_URL = "http://127.0.0.1:8000"
    token = token_of(save_link(cast, rex))
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == "0123456789abcdef0123456789abcdef01234567"
    claims = verified(token, google_keys)
    assert claims["iss"] == wallet_keys.CLIENT_EMAIL
    assert claims["aud"] == "google"
    assert claims["typ"] == "savetowallet"
    assert claims["origins"] == ["http://127.0.0.1:8000"]
    assert isinstance(claims["iat"], int)


def test_a_changed_payload_or_another_key_fails(
    cast: Cast, rex: Pet, google_keys: GoogleFiles, tmp_path: Path
) -> None:
    token = token_of(save_link(cast, rex))
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["payload"]["genericObjects"][0]["header"]["defaultValue"]["value"] = "Max"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(jwt.InvalidSignatureError):
        verified(f"{head}.{forged_body}.{signature}", google_keys)
    other = wallet_keys.google_files(tmp_path / "other")
    with pytest.raises(jwt.InvalidSignatureError):
        verified(token, other)


def test_origins_is_the_sites_origin(
    cast: Cast, rex: Pet, google_keys: GoogleFiles, settings: Any
) -> None:
    settings.PAWFILE_BASE_URL = "https://pets.example.org"
    claims = verified(token_of(save_link(cast, rex)), google_keys)
    assert claims["origins"] == ["https://pets.example.org"]
    generic = claims["payload"]["genericObjects"][0]
    assert generic["id"] == f"{wallet_keys.ISSUER_ID}.pets.example.org-pet-{rex.pk}"


def test_the_generic_object_shows_the_card_and_nothing_private(
    cast: Cast, rex: Pet, google_keys: GoogleFiles, settings: Any
) -> None:
    settings.PAWFILE_SITE_NAME = "Pawfile Test"
    claims = verified(token_of(save_link(cast, rex)), google_keys)
    payload = claims["payload"]
    assert payload["genericClasses"] == [{"id": f"{wallet_keys.ISSUER_ID}.pawfile_pet"}]
    [generic] = payload["genericObjects"]
    assert generic["id"] == f"{wallet_keys.ISSUER_ID}.{pass_serial(rex)}"
    assert generic["classId"] == f"{wallet_keys.ISSUER_ID}.pawfile_pet"
    assert generic["state"] == "ACTIVE"
    assert generic["cardTitle"]["defaultValue"]["value"] == "Pawfile Test"
    assert generic["header"]["defaultValue"] == {"language": "en", "value": "Rex"}
    assert generic["subheader"]["defaultValue"]["value"] == "Dog · Beagle"
    assert generic["textModulesData"] == [
        {"id": "species", "header": "Species", "body": "Dog · Beagle"},
        {"id": "microchip", "header": "Microchip", "body": "941000024680135"},
        {
            "id": "contact",
            "header": "Emergency contact",
            "body": "Neighbour Nina (neighbour) · +34 600 111 222",
        },
    ]
    tag_url = scan_url(rex.wallet_tag, printed=True)  # type: ignore[attr-defined]
    assert generic["barcode"] == {
        "type": "QR_CODE", "value": tag_url, "alternateText": "Scan if found"
    }  # fmt: skip
    assert generic["hexBackgroundColor"] == "#0f766e"
    assert "heroImage" not in generic  # no public URL for a household's photo
    text = json.dumps(claims, ensure_ascii=False)
    for private in wallet_keys.PRIVATE_STRINGS:
        assert private not in text, private


def test_spanish(cast: Cast, rex: Pet, google_keys: GoogleFiles) -> None:
    claims = verified(token_of(save_link(cast, rex, HTTP_ACCEPT_LANGUAGE="es")), google_keys)
    generic = claims["payload"]["genericObjects"][0]
    assert generic["header"]["defaultValue"]["language"] == "es"
    assert generic["textModulesData"][0] == {
        "id": "species", "header": "Especie", "body": "Perro · Beagle"
    }  # fmt: skip
    assert generic["barcode"]["alternateText"] == "Escanear si lo encuentras"


def test_the_object_id_is_stable(cast: Cast, rex: Pet, google_keys: GoogleFiles) -> None:
    first = verified(token_of(save_link(cast, rex)), google_keys)
    second = verified(token_of(save_link(cast, rex, who="bob")), google_keys)
    ids = {c["payload"]["genericObjects"][0]["id"] for c in (first, second)}
    assert len(ids) == 1


# --- A configuration that is missing or wrong --------------------------------------------------


def _refusal(cast: Cast, pet: Pet) -> str:
    response = cast.client_for("alice").get(f"/pets/{pet.pk}/wallet/google")
    assert response.status_code == 409
    return response.content.decode()


def test_unset_settings_are_named(cast: Cast, pet: Pet, settings: Any) -> None:
    wallet_keys.wallets_unset(settings)
    page = _refusal(cast, pet)
    assert (
        "To offer Google Wallet passes, set WALLET_GOOGLE_ISSUER_ID, WALLET_GOOGLE_KEY_FILE."
        in page
    )


def _ec_key_file(path: Path) -> None:
    account = json.loads(path.read_text())
    account["private_key"] = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    path.write_text(json.dumps(account))


def _drop(path: Path, field: str) -> None:
    account = json.loads(path.read_text())
    del account[field]
    path.write_text(json.dumps(account))


GARBLED = '{"private_key": "x", "client_email": "a@b"}'
ISSUER_MESSAGE = "the issuer id is a number (from the Google Pay &amp; Wallet console)."
SUFFIX_MESSAGE = "use only letters, digits, &#x27;.&#x27;, &#x27;_&#x27; and &#x27;-&#x27;."

BROKEN = [
    ("missing file", lambda f, s: setattr(s, "WALLET_GOOGLE_KEY_FILE", str(f.key_file) + ".x"),
     "WALLET_GOOGLE_KEY_FILE: the file cannot be read."),
    ("not json", lambda f, s: f.key_file.write_text("-----BEGIN PRIVATE KEY-----"),
     "WALLET_GOOGLE_KEY_FILE: the file is not JSON."),
    ("no private key", lambda f, s: _drop(f.key_file, "private_key"),
     "WALLET_GOOGLE_KEY_FILE: this is not a service account key file (no private_key)."),
    ("no client email", lambda f, s: _drop(f.key_file, "client_email"),
     "WALLET_GOOGLE_KEY_FILE: this is not a service account key file (no client_email)."),
    ("garbled key", lambda f, s: f.key_file.write_text(GARBLED),
     "WALLET_GOOGLE_KEY_FILE: its private_key cannot be read."),
    ("ec key", lambda f, s: _ec_key_file(f.key_file),
     "WALLET_GOOGLE_KEY_FILE: its private_key is not an RSA key."),
    ("issuer not a number", lambda f, s: setattr(s, "WALLET_GOOGLE_ISSUER_ID", "my-issuer"),
     f"WALLET_GOOGLE_ISSUER_ID: {ISSUER_MESSAGE}"),
    ("bad class suffix", lambda f, s: setattr(s, "WALLET_GOOGLE_CLASS_SUFFIX", "pet card"),
     f"WALLET_GOOGLE_CLASS_SUFFIX: {SUFFIX_MESSAGE}"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "breaks", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_configuration_says_what_is_wrong(
    cast: Cast,
    pet: Pet,
    google_keys: GoogleFiles,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    case: str,
    breaks: Any,
    message: str,
) -> None:
    breaks(google_keys, settings)
    with caplog.at_level(logging.ERROR, logger="pawfile.documents.wallet.google"):
        page = _refusal(cast, pet)
        # The pet page still works and says the same.
        detail = cast.client_for("bob").get(f"/pets/{pet.pk}/")
    assert message in page
    assert str(google_keys.key_file.parent) not in page  # no server paths shown
    assert detail.status_code == 200
    assert "Google Wallet is set up wrongly on this server:" in detail.content.decode()
    # Logged (with the detail), once for this state of the files, not on every page.
    logged = [r for r in caplog.records if "google wallet configuration broken" in r.getMessage()]
    assert len(logged) == 1


def test_save_url_without_a_request(rex: Pet, google_keys: GoogleFiles) -> None:
    """The link is made from the pet alone (a task or the API can make it too)."""
    from pawfile.documents.wallet.data import content_of

    link = google.save_url(content_of(rex))
    assert verified(token_of(link), google_keys)["payload"]["genericObjects"][0]["header"]


def test_link_time(rex: Pet, google_keys: GoogleFiles) -> None:
    """Not a limit (the machine is shared): the time is printed for the notes."""
    import time

    from pawfile.documents.wallet.data import content_of

    content = content_of(rex, photo=False)
    google.save_url(content)  # the first one loads the key
    runs = 20
    started = time.perf_counter()
    for _ in range(runs):
        google.save_url(content)
    print(f"google save link: {(time.perf_counter() - started) / runs * 1000:.2f} ms")
