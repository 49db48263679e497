"""Google Wallet: a "Save to Google Wallet" link for a generic pass of a pet.

The link is ``https://pay.google.com/gp/v/save/<jwt>``: a JWT signed (RS256) with the private
key of the issuer's service account (its JSON key file: ``private_key``, ``client_email``),
claims ``iss`` (the service account), ``aud`` ``"google"``, ``typ`` ``"savetowallet"``,
``origins`` (this site) and a ``payload`` holding the generic class (made by Google on first
save if missing) and the pet's generic object. Nothing is sent to Google from the server: the
user's browser opens the link. The object's id is ``<issuer>.<serial>`` (``data.pass_serial``),
so saving again updates the same card.

``google_signer`` reads the settings (``WALLET_GOOGLE_*``) and raises
``WalletNotConfigured`` or ``WalletConfigBroken`` with a message naming the setting.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from pawfile.documents.wallet.data import PassContent
from pawfile.documents.wallet.errors import WalletConfigBroken, WalletNotConfigured

log = logging.getLogger(__name__)

SAVE_URL = "https://pay.google.com/gp/v/save/"
REQUIRED = ("WALLET_GOOGLE_ISSUER_ID", "WALLET_GOOGLE_KEY_FILE")
BACKGROUND = "#0f766e"
_ID_PART = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class GoogleSigner:
    issuer_id: str
    class_suffix: str
    client_email: str
    key_id: str
    key: rsa.RSAPrivateKey

    @property
    def class_id(self) -> str:
        return f"{self.issuer_id}.{self.class_suffix}"


_lock = threading.Lock()
_loaded: dict[tuple[Any, ...], GoogleSigner] = {}


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
            "google wallet configuration broken",
            extra={"setting": error.settings[0], "detail": error.detail},
        )


def _signer_load() -> GoogleSigner:
    setting = "WALLET_GOOGLE_KEY_FILE"
    path = settings.WALLET_GOOGLE_KEY_FILE
    issuer = settings.WALLET_GOOGLE_ISSUER_ID
    suffix = settings.WALLET_GOOGLE_CLASS_SUFFIX or "pawfile_pet"
    if not issuer.isdigit():
        raise _broken(
            "WALLET_GOOGLE_ISSUER_ID",
            _("the issuer id is a number (from the Google Pay & Wallet console)."),
            issuer,
        )
    if not _ID_PART.match(suffix):
        raise _broken(
            "WALLET_GOOGLE_CLASS_SUFFIX",
            _("use only letters, digits, '.', '_' and '-'."),
            suffix,
        )
    try:
        with open(path, encoding="utf-8") as handle:
            account = json.load(handle)
    except OSError as exc:
        raise _broken(setting, _("the file cannot be read."), f"{path}: {exc}") from None
    except ValueError as exc:
        raise _broken(setting, _("the file is not JSON."), str(exc)) from None
    if not isinstance(account, dict) or not isinstance(account.get("private_key"), str):
        raise _broken(
            setting,
            _("this is not a service account key file (no private_key)."),
            "no private_key",
        )
    email = account.get("client_email")
    if not isinstance(email, str) or "@" not in email:
        raise _broken(
            setting,
            _("this is not a service account key file (no client_email)."),
            "no client_email",
        )
    try:
        key = serialization.load_pem_private_key(account["private_key"].encode(), password=None)
    except (TypeError, ValueError) as exc:
        raise _broken(setting, _("its private_key cannot be read."), str(exc)) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _broken(setting, _("its private_key is not an RSA key."), type(key).__name__)
    key_id = account.get("private_key_id")
    return GoogleSigner(
        issuer_id=issuer,
        class_suffix=suffix,
        client_email=email,
        key_id=key_id if isinstance(key_id, str) else "",
        key=key,
    )


def google_signer() -> GoogleSigner:
    """The signer the settings describe (kept while the key file does not change)."""
    missing = tuple(name for name in REQUIRED if not getattr(settings, name, ""))
    if missing:
        raise WalletNotConfigured(
            _("To offer Google Wallet passes, set %(names)s.") % {"names": ", ".join(missing)},
            settings=missing,
        )
    path = settings.WALLET_GOOGLE_KEY_FILE
    try:
        found = os.stat(path)
        stamp: tuple[float, int] | None = (found.st_mtime, found.st_size)
    except OSError:
        stamp = None
    key = (settings.WALLET_GOOGLE_ISSUER_ID, settings.WALLET_GOOGLE_CLASS_SUFFIX, path, stamp)
    with _lock:
        signer = _loaded.get(key)
        if signer is None:
            try:
                signer = _signer_load()
            except WalletConfigBroken as exc:
                _report(key, exc)
                raise
            _loaded.clear()
            _loaded[key] = signer
    return signer


def _text(value: str) -> dict[str, Any]:
    return {"defaultValue": {"language": get_language() or settings.LANGUAGE_CODE, "value": value}}


def generic_object(content: PassContent, signer: GoogleSigner) -> dict[str, Any]:
    """The pet's generic pass object (labels in the active language)."""
    species = " · ".join(part for part in (content.species, content.breed) if part)
    modules = [{"id": "species", "header": _("Species"), "body": species}]
    if content.microchip:
        modules.append({"id": "microchip", "header": _("Microchip"), "body": content.microchip})
    if content.contact is not None:
        contact = content.contact
        who = f"{contact.name} ({contact.relation})" if contact.relation else contact.name
        body = " · ".join(part for part in (who, contact.phone) if part)
        modules.append({"id": "contact", "header": _("Emergency contact"), "body": body})
    found: dict[str, Any] = {
        "id": f"{signer.issuer_id}.{content.serial}",
        "classId": signer.class_id,
        "state": "ACTIVE",
        "cardTitle": _text(settings.PAWFILE_SITE_NAME),
        "header": _text(content.name),
        "subheader": _text(species),
        "textModulesData": modules,
        "hexBackgroundColor": BACKGROUND,
    }
    if content.barcode_url:
        found["barcode"] = {
            "type": "QR_CODE",
            "value": content.barcode_url,
            "alternateText": _("Scan if found"),
        }
    return found


def claims(content: PassContent, signer: GoogleSigner, *, now: int | None = None) -> dict[str, Any]:
    """The JWT's claims for ``content``."""
    base = settings.PAWFILE_BASE_URL
    origin = base.split("/", 3)[0] + "//" + base.split("/")[2]
    return {
        "iss": signer.client_email,
        "aud": "google",
        "typ": "savetowallet",
        "iat": int(time.time()) if now is None else now,
        "origins": [origin],
        "payload": {
            "genericClasses": [{"id": signer.class_id}],
            "genericObjects": [generic_object(content, signer)],
        },
    }


def save_url(content: PassContent, signer: GoogleSigner | None = None) -> str:
    """The "Save to Google Wallet" link of ``content``; raises what ``google_signer`` raises."""
    signer = signer or google_signer()
    headers = {"kid": signer.key_id} if signer.key_id else None
    token = jwt.encode(claims(content, signer), signer.key, algorithm="RS256", headers=headers)
    return SAVE_URL + token
