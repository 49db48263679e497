"""Throwaway keys for the wallet tests, made with ``cryptography`` in the test.

Apple: a root CA, an intermediate standing in for Apple's WWDR, and a pass certificate
issued by it (UID = the pass type id, as Apple's are). Google: a service account's JSON
key file with a fresh RSA key. ``wallet_settings`` points the settings at them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PASS_TYPE_ID = "pass.org.example.pawfile"
TEAM_ID = "A1B2C3D4E5"
ISSUER_ID = "3388000000022222222"
CLIENT_EMAIL = "wallet@pawfile-test.iam.gserviceaccount.com"
KEY_PASSWORD = "wallet-key-password"


def _name(common: str, **extra: str) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if "uid" in extra:
        attributes.insert(0, x509.NameAttribute(NameOID.USER_ID, extra["uid"]))
    if "ou" in extra:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, extra["ou"]))
    return x509.Name(attributes)


def _certificate(
    subject: x509.Name,
    public: Any,
    issuer: x509.Name,
    signing_key: Any,
    *,
    ca: bool,
    days: int = 30,
    start: dt.datetime | None = None,
) -> x509.Certificate:
    start = start or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False,
        )  # fmt: skip
    else:
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False,
        )  # fmt: skip
    builder = builder.add_extension(usage, critical=True)
    return builder.sign(signing_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class AppleFiles:
    root: Path
    wwdr: Path
    cert: Path
    key: Path
    key_object: rsa.RSAPrivateKey
    certificate: x509.Certificate


def apple_files(folder: Path, *, expired: bool = False, wwdr_der: bool = True) -> AppleFiles:
    """A root, a WWDR (DER, as Apple ships it, unless ``wwdr_der`` is false) and a pass
    certificate with its encrypted PEM key (password ``KEY_PASSWORD``), in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Test Root CA")
    root = _certificate(root_name, root_key.public_key(), root_name, root_key, ca=True, days=3650)
    wwdr_key = ec.generate_private_key(ec.SECP256R1())
    wwdr_name = _name("Test Worldwide Developer Relations", ou="G4")
    wwdr = _certificate(wwdr_name, wwdr_key.public_key(), root_name, root_key, ca=True, days=3650)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=60) if expired else None
    leaf = _certificate(
        _name(f"Pass Type ID: {PASS_TYPE_ID}", uid=PASS_TYPE_ID, ou=TEAM_ID),
        key.public_key(), wwdr_name, wwdr_key, ca=False, start=start,
    )  # fmt: skip
    files = AppleFiles(
        root=folder / "root.pem", wwdr=folder / ("wwdr.cer" if wwdr_der else "wwdr.pem"),
        cert=folder / "pass.pem", key=folder / "pass.key", key_object=key, certificate=leaf,
    )  # fmt: skip
    files.root.write_bytes(_pem(root))
    files.wwdr.write_bytes(
        wwdr.public_bytes(serialization.Encoding.DER if wwdr_der else serialization.Encoding.PEM)
    )
    (folder / "wwdr.pem").write_bytes(_pem(wwdr))
    files.cert.write_bytes(_pem(leaf))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(KEY_PASSWORD.encode()),
        )
    )
    return files


@dataclass
class GoogleFiles:
    key_file: Path
    key_object: rsa.RSAPrivateKey


def google_files(folder: Path) -> GoogleFiles:
    """A service account key file as the Google Cloud console gives it."""
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account = {
        "type": "service_account",
        "project_id": "pawfile-test",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = folder / "service-account.json"
    path.write_text(json.dumps(account), encoding="utf-8")
    return GoogleFiles(key_file=path, key_object=key)


def apple_settings(settings: Any, files: AppleFiles) -> None:
    settings.WALLET_APPLE_PASS_TYPE_ID = PASS_TYPE_ID
    settings.WALLET_APPLE_TEAM_ID = TEAM_ID
    settings.WALLET_APPLE_CERT_PATH = str(files.cert)
    settings.WALLET_APPLE_KEY_PATH = str(files.key)
    settings.WALLET_APPLE_KEY_PASSWORD = KEY_PASSWORD
    settings.WALLET_APPLE_WWDR_PATH = str(files.wwdr)


def google_settings(settings: Any, files: GoogleFiles) -> None:
    settings.WALLET_GOOGLE_ISSUER_ID = ISSUER_ID
    settings.WALLET_GOOGLE_KEY_FILE = str(files.key_file)
    settings.WALLET_GOOGLE_CLASS_SUFFIX = "pawfile_pet"


def wallets_unset(settings: Any) -> None:
    """Every wallet setting empty (whatever the environment of the run says)."""
    for name in (
        "WALLET_APPLE_PASS_TYPE_ID", "WALLET_APPLE_TEAM_ID", "WALLET_APPLE_CERT_PATH",
        "WALLET_APPLE_KEY_PATH", "WALLET_APPLE_KEY_PASSWORD", "WALLET_APPLE_WWDR_PATH",
        "WALLET_GOOGLE_ISSUER_ID", "WALLET_GOOGLE_KEY_FILE",
    ):  # fmt: skip
        setattr(settings, name, "")


# --- A pet with everything a card could show (and private data it must not) ------------------

PRIVATE_STRINGS = (
    "alice@example.org",  # the owner's email
    "Alice's home",  # the household's name
    "nina@example.org",  # a contact's email
    "Calle Falsa 123",  # an address written in the pet's notes
    "Dr. Pérez",  # the vet
    "Chicken protein",  # a health detail
    "Private Pat",  # a contact not marked for the public page
    "pat@example.org",
    "+34 600 999 888",
)


def photo_jpeg() -> bytes:
    import io

    from PIL import Image

    picture = Image.new("RGB", (640, 400), (200, 120, 40))
    out = io.BytesIO()
    picture.save(out, "JPEG")
    return out.getvalue()


def wallet_pet(cast: Any, pet: Any, *, tag: bool = True, photo: bool = True) -> Any:
    """Rex with a microchip, two contacts (the second one public), private details, a tag
    and a photo; returns the pet (``pet.wallet_tag``: the tag or ``None``)."""
    import io

    from pawfile.pets.photos import photo_add
    from pawfile.pets.services import contact_create, pet_update
    from pawfile.qr.ids import code_id_new
    from pawfile.qr.models import QRCode

    alice = cast.alice
    cast.household.name = "Alice's home"
    cast.household.save()
    pet = pet_update(
        actor=alice, pet=pet, microchip="941000024680135", allergies="Chicken protein",
        vet_name="Dr. Pérez", vet_phone="+34 911 000 111", about="Lives at Calle Falsa 123",
    )  # fmt: skip
    contact_create(
        actor=alice, household=cast.household, pet_ids=[pet.pk], name="Private Pat",
        relation="sister", phone="+34 600 999 888", email="pat@example.org",
    )  # fmt: skip
    contact_create(
        actor=alice, household=cast.household, pet_ids=[pet.pk], name="Neighbour Nina",
        relation="neighbour", phone="+34 600 111 222", email="nina@example.org",
        show_on_public_page=True,
    )  # fmt: skip
    found = None
    if tag:
        QRCode.objects.create(
            id=code_id_new(), title="Old tag", target_kind="pet_page", target_ref=pet.pk,
            household=cast.household, is_active=False,
        )  # fmt: skip
        found = QRCode.objects.create(
            id=code_id_new(), title="Collar tag", target_kind="pet_page", target_ref=pet.pk,
            household=cast.household,
        )  # fmt: skip
    if photo:
        photo_add(actor=alice, pet=pet, upload=io.BytesIO(photo_jpeg()))
    pet.refresh_from_db()
    pet.wallet_tag = found
    return pet
