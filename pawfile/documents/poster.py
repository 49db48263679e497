"""The lost-pet poster: one A4 PDF page to print, through the Typst pipeline of the reports.

``poster_get(user=..., pet_id=..., lang=...)`` is the one entry point. Access goes through
``pet_get``: every member of the pet's household (owner, caretaker, viewer) may make it; a
stranger gets ``NotFound`` (404).

What it shows, in English or Spanish (``LANGUAGES``): a "LOST" headline, the pet's name, a
description (species, breed, colour and markings), the primary photo large, when and where
it was last seen, the owner's message and the reward (lost mode's details), and the QR code
of the pet's first active tag (its printed address ``/r/{id}?q``, so a scan of the poster
counts as a genuine scan and alerts the owners while the pet is lost). A pet with no tag gets
the QR of its public page ``/p/{slug}``; making the poster never makes that page (a GET
writes nothing): with neither tag nor page ``poster_get`` raises ``PageMissing`` and the view
asks for the POST that makes it (``documents.page``). How to reach the owner: the contacts
the public page shows, only when the owner chose to show them; otherwise "scan the code"
(the finder's form).

Nothing is cached: a poster is made a few times while a pet is lost, and lost mode's details
change often then.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno
import typst
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from pawfile.accounts.models import User
from pawfile.documents.report import FONT_DIR, report_language
from pawfile.lib.dates import date_text, user_zone_override
from pawfile.lostpet import selectors as lostpet_selectors
from pawfile.lostpet.services import profile_or_default
from pawfile.pets.choices import PhotoVariant
from pawfile.pets.models import Pet, Photo
from pawfile.pets.selectors import pet_get
from pawfile.qr import images as qr_images
from pawfile.qr.choices import TargetKind
from pawfile.qr.models import QRCode

log = logging.getLogger(__name__)

TEMPLATE = Path(__file__).resolve().parent / "typst" / "lost_poster.typ"
LANGUAGES = ("en", "es")


class PageMissing(Exception):
    """The pet has neither tag nor public page: the poster would have no code to print."""

    def __init__(self, pet: Pet) -> None:
        super().__init__(f"pet {pet.pk} has no tag and no public page")
        self.pet = pet


@dataclass(frozen=True)
class Poster:
    pet: Pet
    pdf: bytes
    qr_url: str  # what the poster's QR code says


@functools.cache
def _fonts() -> typst.Fonts:
    return typst.Fonts(
        include_system_fonts=False, include_embedded_fonts=True, font_paths=[str(FONT_DIR)]
    )


def poster_language(code: str | None) -> str:
    """``en`` or ``es`` for a language code (anything else: the site's, or English)."""
    return report_language(code)


def pet_tag(pet: Pet) -> QRCode | None:
    """The pet's first active tag (oldest first), or ``None``."""
    return (
        QRCode.objects.filter(target_kind=TargetKind.PET_PAGE, target_ref=pet.pk, is_active=True)
        .order_by("created_at", "id")
        .first()
    )


def _qr(pet: Pet, slug: str) -> tuple[bytes, str]:
    """The PNG of the poster's code and the address it encodes. Raises ``PageMissing``
    with neither a tag nor a ``slug``."""
    tag = pet_tag(pet)
    if tag is not None:
        return qr_images.code_png(tag), qr_images.scan_url(tag, printed=True)
    if not slug:
        raise PageMissing(pet)
    url = f"{settings.PAWFILE_BASE_URL}/p/{slug}"
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=12, border=4)
    return out.getvalue(), url


def _photo(pet: Pet) -> bytes | None:
    photo = Photo.objects.filter(pet=pet, is_primary=True).first()
    if photo is None:
        return None
    name = photo.path(PhotoVariant.FULL, "jpeg")
    try:
        with default_storage.open(name, "rb") as handle:
            return bytes(handle.read())
    except OSError:
        log.warning("poster photo missing", extra={"pet_id": pet.pk, "photo": name})
        return None


def _description(pet: Pet) -> str:
    parts = [str(pet.get_species_display()), pet.breed.strip(), pet.colour.strip()]
    return " · ".join(part for part in parts if part)


def poster_data(*, pet: Pet, profile: Any, lang: str, qr_url: str) -> dict[str, Any]:
    """The template's data, translated into ``lang`` (dates in the active zone)."""
    public = lostpet_selectors.public_pet(profile=profile, pet=pet, today=timezone.localdate())
    with override(lang):
        facts = []
        if profile.last_seen_at or profile.lost_since:
            facts.append(
                {
                    "label": _("Last seen"),
                    "value": date_text(profile.last_seen_at or profile.lost_since),
                }
            )
        if profile.last_seen_place:
            facts.append({"label": _("Where"), "value": profile.last_seen_place})
        contacts = []
        if public.contacts_shown:
            for contact in public.contacts:
                line = " · ".join(part for part in (contact.name, contact.phone) if part)
                contacts.append(line + (f" · {contact.email}" if contact.email else ""))
        return {
            "lang": lang,
            "headline": _("LOST"),
            "name": pet.name,
            "description": _description(pet),
            "facts": facts,
            "message": profile.lost_message,
            "reward_label": _("Reward"),
            "reward": profile.reward,
            "contact_heading": _("If you see me, please tell my family:"),
            "contacts": contacts,
            "scan_hint": _(
                "Scan the code with your phone's camera to send a message and your "
                "location to my family."
            ),
            "qr_caption": _("Scan me"),
            "qr_url": qr_url,
        }


def poster_render(data: dict[str, Any], *, photo: bytes | None, qr_png: bytes) -> bytes:
    """Compile the poster. Raises ``typst.TypstError`` on failure; a photo Typst cannot read
    costs the photo, not the poster."""
    try:
        return _compile(data, photo, qr_png)
    except typst.TypstError:
        if photo is None:
            raise
        log.warning("poster photo could not be used", exc_info=True)
        return _compile(data, None, qr_png)


def _compile(data: dict[str, Any], photo: bytes | None, qr_png: bytes) -> bytes:
    with tempfile.TemporaryDirectory(prefix="pawfile-poster-") as folder:
        root = Path(folder)
        main = root / TEMPLATE.name
        main.write_bytes(TEMPLATE.read_bytes())
        (root / "qr.png").write_bytes(qr_png)
        if photo is not None:
            (root / "photo.jpg").write_bytes(photo)
        inputs = {"data": json.dumps({**data, "photo": "/photo.jpg" if photo else None})}
        pdf = typst.compile(
            main,
            root=root,
            font_paths=_fonts(),
            ignore_system_fonts=True,
            format="pdf",
            sys_inputs=inputs,
            timestamp=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        )
    assert isinstance(pdf, bytes)
    return pdf


def poster_get(*, user: User, pet_id: int, lang: str | None) -> Poster:
    """The pet's lost poster in ``lang``. Raises ``NotFound`` when ``user`` may not see the
    pet, ``PageMissing`` when it has neither tag nor public page. Writes nothing."""
    pet = pet_get(user=user, pet_id=pet_id)
    lang = poster_language(lang)
    profile = profile_or_default(pet)
    profile.pet = pet
    qr_png, qr_url = _qr(pet, profile.slug)
    with user_zone_override(user):
        data = poster_data(pet=pet, profile=profile, lang=lang, qr_url=qr_url)
    pdf = poster_render(data, photo=_photo(pet), qr_png=qr_png)
    return Poster(pet=pet, pdf=pdf, qr_url=qr_url)
