"""Apple Wallet: a generic ``.pkpass`` of a pet, signed with the site's pass certificate.

A ``.pkpass`` is a zip of ``pass.json`` (what the card shows), its pictures (``icon.png``,
``logo.png``, ``thumbnail.png``, each with an ``@2x`` twin), ``manifest.json`` (the SHA-1 hex
digest of every other file) and ``signature``: a detached PKCS#7 (CMS) signature over
``manifest.json``, in DER, made with the pass certificate and its key (SHA-256), carrying
Apple's WWDR intermediate certificate so the phone can build the chain to Apple's root.

``apple_signer`` loads the certificate, key and WWDR from the settings
(``WALLET_APPLE_*``), checks that they belong together, and keeps them for as long as the
files do not change. It raises ``WalletNotConfigured`` (settings empty) or
``WalletConfigBroken`` (a file unreadable or wrong), with a message naming the setting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
import threading
import zipfile
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from django.conf import settings
from django.utils.translation import gettext as _

from pawfile.documents.wallet.data import PassContent
from pawfile.documents.wallet.errors import WalletConfigBroken, WalletNotConfigured
from pawfile.documents.wallet.images import paw_png, thumbnail_png

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.apple.pkpass"
REQUIRED = (
    "WALLET_APPLE_PASS_TYPE_ID",
    "WALLET_APPLE_TEAM_ID",
    "WALLET_APPLE_CERT_PATH",
    "WALLET_APPLE_KEY_PATH",
    "WALLET_APPLE_WWDR_PATH",
)
# The site's teal, white text, pale teal labels (Apple wants "rgb(r, g, b)").
BACKGROUND = "rgb(15, 118, 110)"
FOREGROUND = "rgb(255, 255, 255)"
LABEL = "rgb(204, 251, 241)"
# Fixed time for every zip entry: the same pass is the same bytes up to its signature.
ZIP_TIME = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class AppleSigner:
    """The pass certificate, its key and the WWDR intermediate, checked to belong together."""

    pass_type_id: str
    team_id: str
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    wwdr: x509.Certificate


_lock = threading.Lock()
_loaded: dict[tuple[Any, ...], AppleSigner] = {}


_reported: set[tuple[Any, ...]] = set()


def _broken(setting: str, message: str, detail: str) -> WalletConfigBroken:
    """The error for ``setting`` (``detail``, for the log, may name paths)."""
    error = WalletConfigBroken(f"{setting}: {message}", settings=(setting,))
    error.detail = detail
    return error


def _report(key: tuple[Any, ...], error: WalletConfigBroken) -> None:
    """Log ``error`` once per state of the configuration (not on every pet page)."""
    if key not in _reported:
        _reported.clear()
        _reported.add(key)
        log.error(
            "apple wallet configuration broken",
            extra={"setting": error.settings[0], "detail": error.detail},
        )


def _read(setting: str) -> bytes:
    path = getattr(settings, setting)
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise _broken(setting, _("the file cannot be read."), f"{path}: {exc}") from None


def _certificate(setting: str) -> x509.Certificate:
    data = _read(setting)
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise _broken(setting, _("the file is not a certificate (PEM or DER)."), str(exc)) from None


def _private_key(setting: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    data = _read(setting)
    password = settings.WALLET_APPLE_KEY_PASSWORD.encode() or None
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=password)
        else:
            key = serialization.load_der_private_key(data, password=password)
    except TypeError as exc:  # a password given for a plain key, or none for an encrypted one
        raise _broken(
            setting,
            _("the key and WALLET_APPLE_KEY_PASSWORD do not go together."),
            str(exc),
        ) from None
    except ValueError as exc:
        raise _broken(
            setting,
            _("the file is not a private key, or WALLET_APPLE_KEY_PASSWORD is wrong."),
            str(exc),
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise _broken(setting, _("the key must be an RSA or EC key."), type(key).__name__)
    return key


def _public_der(public: Any) -> bytes:
    return bytes(
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _signer_load() -> AppleSigner:
    certificate = _certificate("WALLET_APPLE_CERT_PATH")
    key = _private_key("WALLET_APPLE_KEY_PATH")
    wwdr = _certificate("WALLET_APPLE_WWDR_PATH")
    if _public_der(certificate.public_key()) != _public_der(key.public_key()):
        raise _broken(
            "WALLET_APPLE_KEY_PATH",
            _("the key is not the key of the certificate in WALLET_APPLE_CERT_PATH."),
            "public keys differ",
        )
    if certificate.issuer != wwdr.subject:
        raise _broken(
            "WALLET_APPLE_WWDR_PATH",
            _("this is not the certificate that issued the pass certificate."),
            f"{certificate.issuer.rfc4514_string()} != {wwdr.subject.rfc4514_string()}",
        )
    return AppleSigner(
        pass_type_id=settings.WALLET_APPLE_PASS_TYPE_ID,
        team_id=settings.WALLET_APPLE_TEAM_ID,
        certificate=certificate,
        key=key,
        wwdr=wwdr,
    )


def _stamp(path: str) -> tuple[float, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_mtime, found.st_size)


def apple_signer() -> AppleSigner:
    """The signer the settings describe (see the module docstring); raises
    ``WalletNotConfigured`` or ``WalletConfigBroken``."""
    missing = tuple(name for name in REQUIRED if not getattr(settings, name, ""))
    if missing:
        raise WalletNotConfigured(
            _("To offer Apple Wallet passes, set %(names)s.") % {"names": ", ".join(missing)},
            settings=missing,
        )
    values = tuple(getattr(settings, name) for name in REQUIRED)
    key = (
        *values,
        settings.WALLET_APPLE_KEY_PASSWORD,
        *(_stamp(getattr(settings, n)) for n in REQUIRED[2:]),
    )
    with _lock:
        found = _loaded.get(key)
        if found is None:
            try:
                found = _signer_load()
            except WalletConfigBroken as exc:
                _report(key, exc)
                raise
            _loaded.clear()  # one configuration at a time
            _loaded[key] = found
    if found.certificate.not_valid_after_utc < dt.datetime.now(dt.UTC):
        error = _broken(
            "WALLET_APPLE_CERT_PATH",
            _("the certificate has expired; make a new one in the Apple developer account."),
            found.certificate.not_valid_after_utc.isoformat(),
        )
        _report(key, error)
        raise error
    return found


def _field(key: str, label: str, value: str) -> dict[str, str]:
    return {"key": key, "label": label, "value": value}


def pass_json(content: PassContent, signer: AppleSigner) -> dict[str, Any]:
    """The ``pass.json`` of ``content``: a generic pass, labels in the active language."""
    species = " · ".join(part for part in (content.species, content.breed) if part)
    secondary = [_field("species", _("Species"), species)]
    if content.microchip:
        secondary.append(_field("microchip", _("Microchip"), content.microchip))
    auxiliary, back = [], []
    if content.contact is not None:
        contact = content.contact
        who = f"{contact.name} ({contact.relation})" if contact.relation else contact.name
        auxiliary.append(_field("contact", _("Emergency contact"), who))
        if contact.phone:
            auxiliary.append(_field("phone", _("Phone"), contact.phone))
        back.append(
            _field(
                "contact_back",
                _("Emergency contact"),
                "\n".join(part for part in (who, contact.phone) if part),
            )
        )
    if content.barcode_url:
        back.append(_field("page", _("If found, scan the code or open"), content.barcode_url))
    data: dict[str, Any] = {
        "formatVersion": 1,
        "passTypeIdentifier": signer.pass_type_id,
        "teamIdentifier": signer.team_id,
        "serialNumber": content.serial,
        "organizationName": settings.PAWFILE_SITE_NAME,
        "description": _("%(name)s's pet card") % {"name": content.name},
        "logoText": settings.PAWFILE_SITE_NAME,
        "backgroundColor": BACKGROUND,
        "foregroundColor": FOREGROUND,
        "labelColor": LABEL,
        "generic": {
            "primaryFields": [_field("name", _("Name"), content.name)],
            "secondaryFields": secondary,
            "auxiliaryFields": auxiliary,
            "backFields": back,
        },
    }
    if content.barcode_url:
        data["barcodes"] = [
            {
                "format": "PKBarcodeFormatQR",
                "message": content.barcode_url,
                "messageEncoding": "iso-8859-1",
            }
        ]
    return data


def pass_files(content: PassContent, signer: AppleSigner) -> dict[str, bytes]:
    """Every file of the pass but the manifest and the signature."""
    files = {
        "pass.json": json.dumps(pass_json(content, signer), ensure_ascii=False, indent=1).encode(),
        "icon.png": paw_png(29),
        "icon@2x.png": paw_png(58),
        "logo.png": paw_png(50),
        "logo@2x.png": paw_png(100),
    }
    if content.photo is not None:
        for name, scale in (("thumbnail.png", 1), ("thumbnail@2x.png", 2)):
            picture = thumbnail_png(content.photo, scale)
            if picture is not None:
                files[name] = picture
    return files


def manifest(files: dict[str, bytes]) -> bytes:
    """``manifest.json``: each file's SHA-1 hex digest."""
    digests = {name: hashlib.sha1(data).hexdigest() for name, data in sorted(files.items())}  # noqa: S324 - Apple's format
    return json.dumps(digests, indent=1).encode()


def signature(manifest_json: bytes, signer: AppleSigner) -> bytes:
    """The detached PKCS#7 signature (DER) over ``manifest_json``, with the WWDR certificate."""
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(manifest_json)
        .add_signer(signer.certificate, signer.key, hashes.SHA256())
        .add_certificate(signer.wwdr)
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )


def pkpass_build(content: PassContent, signer: AppleSigner | None = None) -> bytes:
    """The signed ``.pkpass`` of ``content`` (a zip); raises what ``apple_signer`` raises."""
    signer = signer or apple_signer()
    files = pass_files(content, signer)
    files["manifest.json"] = manifest(files)
    files["signature"] = signature(files["manifest.json"], signer)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()
