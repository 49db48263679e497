"""The Apple Wallet pass: a real PKCS#7 signature over the manifest (checked by ``openssl cms``),
every file's hash, what ``pass.json`` shows and what it must not, and the refusals of a
configuration that is missing or wrong (a clear 409, never a 500)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from django.utils import timezone
from PIL import Image

from pawfile.documents.wallet import apple
from pawfile.documents.wallet.data import pass_serial
from pawfile.pets.models import Pet
from pawfile.qr.images import scan_url
from tests.conftest import Cast
from tests.documents import wallet_keys
from tests.documents.wallet_keys import AppleFiles

IMAGES = {"icon.png", "icon@2x.png", "logo.png", "logo@2x.png"}
THUMBNAILS = {"thumbnail.png", "thumbnail@2x.png"}


@pytest.fixture
def apple_keys(settings: Any, tmp_path: Path) -> AppleFiles:
    files = wallet_keys.apple_files(tmp_path / "apple")
    wallet_keys.apple_settings(settings, files)
    return files


@pytest.fixture
def rex(cast: Cast, pet: Pet) -> Pet:
    return wallet_keys.wallet_pet(cast, pet)


def download(cast: Cast, pet: Pet, who: str = "alice", **extra: Any) -> zipfile.ZipFile:
    response = cast.client_for(who).get(f"/pets/{pet.pk}/wallet/apple.pkpass", **extra)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/vnd.apple.pkpass"
    return zipfile.ZipFile(io.BytesIO(response.content))


def openssl_verify(folder: Path, manifest: bytes, signature: bytes, keys: AppleFiles) -> Any:
    (folder / "manifest.json").write_bytes(manifest)
    (folder / "signature").write_bytes(signature)
    return subprocess.run(
        [
            "openssl", "cms", "-verify", "-binary", "-inform", "DER",
            "-in", str(folder / "signature"), "-content", str(folder / "manifest.json"),
            "-CAfile", str(keys.root), "-certfile", str(keys.root.parent / "wwdr.pem"),
            "-purpose", "any", "-out", str(folder / "verified"),
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_signature_verifies_with_openssl(
    cast: Cast, rex: Pet, apple_keys: AppleFiles, tmp_path: Path
) -> None:
    archive = download(cast, rex)
    manifest, signature = archive.read("manifest.json"), archive.read("signature")
    result = openssl_verify(tmp_path, manifest, signature, apple_keys)
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr
    assert (tmp_path / "verified").read_bytes() == manifest
    # Detached: the signature does not hold the manifest; it carries the WWDR certificate
    # (the phone has only Apple's root) and the pass certificate.
    assert manifest not in signature
    certificates = pkcs7.load_der_pkcs7_certificates(signature)
    subjects = {c.subject.rfc4514_string() for c in certificates}
    assert any("Worldwide Developer Relations" in s for s in subjects)
    assert any(wallet_keys.PASS_TYPE_ID in s for s in subjects)


def test_a_changed_manifest_fails_verification(
    cast: Cast, rex: Pet, apple_keys: AppleFiles, tmp_path: Path
) -> None:
    archive = download(cast, rex)
    manifest = archive.read("manifest.json").replace(b'"pass.json": "', b'"pass.json": "0')
    result = openssl_verify(tmp_path, manifest, archive.read("signature"), apple_keys)
    assert result.returncode != 0


def test_every_file_is_in_the_manifest_with_its_sha1(
    cast: Cast, rex: Pet, apple_keys: AppleFiles
) -> None:
    archive = download(cast, rex)
    names = set(archive.namelist())
    assert names == {"pass.json", "manifest.json", "signature"} | IMAGES | THUMBNAILS
    manifest = json.loads(archive.read("manifest.json"))
    assert set(manifest) == names - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(archive.read(name)).hexdigest() == digest, name  # noqa: S324


def test_images_have_apples_sizes(cast: Cast, rex: Pet, apple_keys: AppleFiles) -> None:
    archive = download(cast, rex)
    sizes = {name: Image.open(io.BytesIO(archive.read(name))).size for name in IMAGES | THUMBNAILS}
    assert sizes == {
        "icon.png": (29, 29), "icon@2x.png": (58, 58), "logo.png": (50, 50),
        "logo@2x.png": (100, 100), "thumbnail.png": (90, 90), "thumbnail@2x.png": (180, 180),
    }  # fmt: skip
    # The thumbnail is the pet's photo (orange), the icon the teal paw.
    thumb = Image.open(io.BytesIO(archive.read("thumbnail.png"))).convert("RGB")
    red, _green, blue = thumb.getpixel((45, 45))  # type: ignore[misc]
    assert red > 150 and blue < 100
    icon = Image.open(io.BytesIO(archive.read("icon@2x.png"))).convert("RGBA")
    assert icon.getpixel((4, 29))[:3] == (15, 118, 110)  # type: ignore[index]
    assert icon.getpixel((29, 40))[:3] == (255, 255, 255)  # type: ignore[index]


def test_pass_json_shows_the_card_and_nothing_private(
    cast: Cast, rex: Pet, apple_keys: AppleFiles, settings: Any
) -> None:
    settings.PAWFILE_SITE_NAME = "Pawfile Test"
    archive = download(cast, rex)
    data = json.loads(archive.read("pass.json"))
    assert data["formatVersion"] == 1
    assert data["passTypeIdentifier"] == wallet_keys.PASS_TYPE_ID
    assert data["teamIdentifier"] == wallet_keys.TEAM_ID
    assert data["serialNumber"] == pass_serial(rex)
    assert data["organizationName"] == "Pawfile Test"
    assert data["description"] == "Rex's pet card"
    generic = data["generic"]
    fields = {
        f["key"]: (f["label"], f["value"])
        for part in ("primaryFields", "secondaryFields", "auxiliaryFields", "backFields")
        for f in generic[part]
    }
    assert fields["name"] == ("Name", "Rex")
    assert fields["species"] == ("Species", "Dog · Beagle")
    assert fields["microchip"] == ("Microchip", "941000024680135")
    # The contact marked for the public page, though another comes first in the list.
    assert fields["contact"] == ("Emergency contact", "Neighbour Nina (neighbour)")
    assert fields["phone"] == ("Phone", "+34 600 111 222")
    tag_url = scan_url(rex.wallet_tag, printed=True)  # type: ignore[attr-defined]
    assert data["barcodes"] == [
        {"format": "PKBarcodeFormatQR", "message": tag_url, "messageEncoding": "iso-8859-1"}
    ]
    assert tag_url.endswith(f"/r/{rex.wallet_tag.id}?q")  # type: ignore[attr-defined]
    everything = b"".join(archive.read(n) for n in archive.namelist()).decode("latin-1")
    text = archive.read("pass.json").decode()
    for private in wallet_keys.PRIVATE_STRINGS:
        assert private not in text, private
        assert private not in everything, private


def test_serial_is_stable_and_the_pass_is_the_same_but_for_its_signature(
    cast: Cast, rex: Pet, apple_keys: AppleFiles
) -> None:
    first, second = download(cast, rex), download(cast, rex, who="carol")
    assert json.loads(first.read("pass.json"))["serialNumber"] == pass_serial(rex)
    for name in set(first.namelist()) - {"signature"}:
        assert first.read(name) == second.read(name), name


def test_labels_follow_the_language(cast: Cast, rex: Pet, apple_keys: AppleFiles) -> None:
    archive = download(cast, rex, HTTP_ACCEPT_LANGUAGE="es")
    data = json.loads(archive.read("pass.json"))
    labels = {f["key"]: f["label"] for f in data["generic"]["secondaryFields"]}
    assert labels == {"species": "Especie", "microchip": "Microchip"}
    assert data["generic"]["secondaryFields"][0]["value"] == "Perro · Beagle"
    assert data["generic"]["primaryFields"][0]["label"] == "Nombre"


def test_without_a_tag_photo_or_contact_the_pass_is_still_whole(
    cast: Cast, pet: Pet, apple_keys: AppleFiles, tmp_path: Path, settings: Any
) -> None:
    from pawfile.lostpet.models import PublicProfile

    # No tag and no public page: the GET makes nothing and asks for the POST that makes
    # the page, which comes back to the download.
    client = cast.client_for("alice")
    asked = client.get(f"/pets/{pet.pk}/wallet/apple.pkpass")
    assert asked.status_code == 200 and asked["Content-Type"].startswith("text/html")
    assert 'method="post"' in asked.content.decode()
    assert not PublicProfile.objects.filter(pet=pet).exists()
    made = client.post(f"/pets/{pet.pk}/wallet/apple.pkpass")
    assert made.status_code == 303 and made["Location"] == f"/pets/{pet.pk}/wallet/apple.pkpass"
    archive = download(cast, pet)
    assert set(archive.namelist()) == {"pass.json", "manifest.json", "signature"} | IMAGES
    data = json.loads(archive.read("pass.json"))
    # No tag: the pet's public page (/p/<slug>, made by the POST) from the lost-pet app.
    slug = PublicProfile.objects.get(pet=pet).slug
    assert data["barcodes"][0]["message"] == f"{settings.PAWFILE_BASE_URL}/p/{slug}"
    assert data["generic"]["auxiliaryFields"] == []
    keys = {f["key"] for f in data["generic"]["secondaryFields"]}
    assert keys == {"species"}
    result = openssl_verify(
        tmp_path, archive.read("manifest.json"), archive.read("signature"), apple_keys
    )
    assert result.returncode == 0, result.stderr


def test_an_expired_or_used_up_tag_is_not_the_barcode(
    cast: Cast, rex: Pet, apple_keys: AppleFiles
) -> None:
    from pawfile.lostpet.services import profile_for_pet

    profile_for_pet(rex)  # the public page the card falls back on
    tag = rex.wallet_tag  # type: ignore[attr-defined]
    tag.scan_limit, tag.scan_count = 5, 5
    tag.save()
    data = json.loads(download(cast, rex).read("pass.json"))
    assert "/p/" in data["barcodes"][0]["message"]
    tag.scan_limit, tag.expires_at = None, timezone.now() - dt.timedelta(minutes=1)
    tag.save()
    data = json.loads(download(cast, rex).read("pass.json"))
    assert "/p/" in data["barcodes"][0]["message"]
    tag.expires_at = timezone.now() + dt.timedelta(days=1)
    tag.save()
    data = json.loads(download(cast, rex).read("pass.json"))
    assert data["barcodes"][0]["message"] == scan_url(tag, printed=True)


def test_without_the_lost_pet_app_and_a_tag_there_is_no_barcode(
    cast: Cast, pet: Pet, apple_keys: AppleFiles
) -> None:
    from pawfile.qr import petpage

    petpage.pet_page_path_unregister()
    try:
        data = json.loads(download(cast, pet).read("pass.json"))
    finally:
        from pawfile.lostpet.contributions import pet_page_path

        petpage.pet_page_path_register(pet_page_path)
    assert "barcodes" not in data  # the pet's own page is of no use to a finder


def test_a_pem_wwdr_and_a_key_without_password_work(
    cast: Cast, rex: Pet, settings: Any, tmp_path: Path
) -> None:
    files = wallet_keys.apple_files(tmp_path / "pem", wwdr_der=False)
    wallet_keys.apple_settings(settings, files)
    files.key.write_bytes(
        files.key_object.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    settings.WALLET_APPLE_KEY_PASSWORD = ""
    archive = download(cast, rex)
    result = openssl_verify(
        tmp_path, archive.read("manifest.json"), archive.read("signature"), files
    )
    assert result.returncode == 0, result.stderr


# --- A configuration that is missing or wrong --------------------------------------------------


def _refusal(cast: Cast, pet: Pet) -> str:
    response = cast.client_for("alice").get(f"/pets/{pet.pk}/wallet/apple.pkpass")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_unset_settings_are_named(cast: Cast, pet: Pet, settings: Any) -> None:
    wallet_keys.wallets_unset(settings)
    settings.WALLET_APPLE_TEAM_ID = "A1B2C3D4E5"
    page = _refusal(cast, pet)
    assert "Wallet card unavailable" in page
    assert (
        "To offer Apple Wallet passes, set WALLET_APPLE_PASS_TYPE_ID, WALLET_APPLE_CERT_PATH, "
        "WALLET_APPLE_KEY_PATH, WALLET_APPLE_WWDR_PATH." in page
    )


def _other_key(path: Path) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(wallet_keys.KEY_PASSWORD.encode()),
        )
    )


BROKEN = [
    ("missing key file", lambda f, s: setattr(s, "WALLET_APPLE_KEY_PATH", str(f.key) + ".gone"),
     "WALLET_APPLE_KEY_PATH: the file cannot be read."),
    ("wrong password", lambda f, s: setattr(s, "WALLET_APPLE_KEY_PASSWORD", "nope"),
     "WALLET_APPLE_KEY_PATH: the file is not a private key, or WALLET_APPLE_KEY_PASSWORD is "
     "wrong."),
    ("no password", lambda f, s: setattr(s, "WALLET_APPLE_KEY_PASSWORD", ""),
     "WALLET_APPLE_KEY_PATH: the key and WALLET_APPLE_KEY_PASSWORD do not go together."),
    ("key of another certificate", lambda f, s: _other_key(f.key),
     "WALLET_APPLE_KEY_PATH: the key is not the key of the certificate in WALLET_APPLE_CERT_PATH."),
    ("certificate is garbage", lambda f, s: f.cert.write_bytes(b"hello"),
     "WALLET_APPLE_CERT_PATH: the file is not a certificate (PEM or DER)."),
    ("wwdr is the root", lambda f, s: setattr(s, "WALLET_APPLE_WWDR_PATH", str(f.root)),
     "WALLET_APPLE_WWDR_PATH: this is not the certificate that issued the pass certificate."),
]  # fmt: skip


@pytest.mark.parametrize(("case", "breaks", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_configuration_says_what_is_wrong(
    cast: Cast,
    pet: Pet,
    apple_keys: AppleFiles,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    case: str,
    breaks: Any,
    message: str,
) -> None:
    breaks(apple_keys, settings)
    with caplog.at_level(logging.ERROR, logger="pawfile.documents.wallet.apple"):
        page = _refusal(cast, pet)
        # The pet page still works and says the same.
        detail = cast.client_for("alice").get(f"/pets/{pet.pk}/")
    assert message in page
    assert str(apple_keys.key.parent) not in page  # no server paths shown
    assert detail.status_code == 200
    assert "Apple Wallet is set up wrongly on this server:" in detail.content.decode()
    # Logged (with the detail), once for this state of the files, not on every page.
    logged = [r for r in caplog.records if "apple wallet configuration broken" in r.getMessage()]
    assert len(logged) == 1


def test_an_expired_certificate_is_refused(
    cast: Cast, pet: Pet, settings: Any, tmp_path: Path
) -> None:
    wallet_keys.apple_settings(settings, wallet_keys.apple_files(tmp_path, expired=True))
    assert "WALLET_APPLE_CERT_PATH: the certificate has expired" in _refusal(cast, pet)


def test_a_fixed_file_is_read_again(
    cast: Cast, rex: Pet, apple_keys: AppleFiles, settings: Any
) -> None:
    good = apple_keys.key.read_bytes()
    apple_keys.key.write_bytes(b"not a key at all")
    _refusal(cast, rex)
    apple_keys.key.write_bytes(good)
    download(cast, rex)


def test_build_time(cast: Cast, rex: Pet, apple_keys: AppleFiles) -> None:
    """Not a limit (the machine is shared): the time is printed for the notes."""
    import time

    from pawfile.documents.wallet.data import content_of

    content = content_of(rex)
    apple.pkpass_build(content)  # the first one loads the keys and draws the icons
    runs = 10
    started = time.perf_counter()
    for _ in range(runs):
        apple.pkpass_build(content)
    print(f"pkpass build: {(time.perf_counter() - started) / runs * 1000:.1f} ms")
