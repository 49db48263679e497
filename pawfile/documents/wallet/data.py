"""What a wallet card of a pet shows, the same for Apple and Google.

``pass_content`` reads a pet through the access gate (a stranger gets ``NotFound``) and returns
only what may be on a card a finder could be shown: the pet's name, species and breed,
microchip, one emergency contact (name, relation, phone), the QR target and the primary
photo. Never the household's name or address, an owner's email or any health record.

The QR is the scan address (``/r/{id}``, with the printed-code marker) of the pet's first tag
that answers (active, not expired, not used up); without one, the pet's public page
(``/p/{slug}``) if it exists; without the lost-pet app (no ``qr.petpage`` resolver) the card
has no QR. Reading a card writes nothing: a pet with neither tag nor page gets
``page_missing`` set, and the caller asks for a POST that makes the page first
(``documents.page``), because a card printed with an address must keep working.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import F, Q
from django.utils import timezone

from pawfile.accounts.models import User
from pawfile.lib.registry import ExportSection
from pawfile.pets.choices import PhotoVariant
from pawfile.pets.models import Contact, Pet, Photo
from pawfile.pets.selectors import pet_get, pet_list
from pawfile.qr.choices import TargetKind
from pawfile.qr.images import scan_url
from pawfile.qr.models import QRCode

log = logging.getLogger(__name__)

_NOT_ID = re.compile(r"[^A-Za-z0-9.-]+")


@dataclass(frozen=True)
class Contact1:
    """The one emergency contact a card shows."""

    name: str
    relation: str
    phone: str


@dataclass(frozen=True)
class PassContent:
    """Everything a card shows; ``species`` is the label in the active language."""

    serial: str
    name: str
    species: str
    breed: str
    microchip: str
    contact: Contact1 | None
    barcode_url: str | None
    photo: bytes | None  # the primary photo's card JPEG (square), if any
    revision: int
    # No tag and no public page yet: the card would have no QR; make the page (a POST).
    page_missing: bool = False


def pass_serial(pet: Pet) -> str:
    """A card's serial number: stable for the pet on this site (the host of
    ``PAWFILE_BASE_URL`` and the pet's id), so a card saved again replaces the old one.

    Only letters, digits, ``.`` and ``-``: valid in an Apple serial and a Google object id."""
    host = settings.PAWFILE_BASE_URL.split("://", 1)[-1].split("/", 1)[0]
    return f"{_NOT_ID.sub('-', host).strip('-') or 'pawfile'}-pet-{pet.pk}"


def emergency_contact(pet: Pet) -> Contact1 | None:
    """The first of the pet's contacts marked for the public page, else its first contact."""
    contacts = list(
        Contact.objects.filter(pets=pet).order_by("-show_on_public_page", "order", "pk")[:1]
    )
    if not contacts:
        return None
    c = contacts[0]
    return Contact1(name=c.name, relation=c.relation, phone=c.phone)


def tag_for(pet: Pet) -> QRCode | None:
    """The pet's oldest tag that still answers a scan, if any."""
    now = timezone.now()
    return (
        QRCode.objects.filter(
            target_kind=TargetKind.PET_PAGE,
            target_ref=pet.pk,
            household_id=pet.household_id,
            is_active=True,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .filter(Q(scan_limit__isnull=True) | Q(scan_count__lt=F("scan_limit")))
        .order_by("created_at", "id")
        .first()
    )


def _lostpet_installed() -> bool:
    """Whether the lost-pet app names pets' public pages (it registers the resolver)."""
    try:
        module = importlib.import_module("pawfile.qr.petpage")
        return module.pet_page_path_resolver() is not None
    except (ImportError, AttributeError):
        return False


def _public_page_url(pet: Pet) -> str | None:
    """The address of the pet's public page if it has one; ``None`` without one (nothing
    is made here) or without the lost-pet app (the fallback, the pet's own page, is no use
    to a finder)."""
    if not _lostpet_installed():
        return None
    from pawfile.lostpet.services import page_slug

    slug = page_slug(pet)
    return f"{settings.PAWFILE_BASE_URL}/p/{slug}" if slug else None


def barcode_url(pet: Pet) -> str | None:
    """What the card's QR encodes (see the module docstring); ``None`` for no QR."""
    tag = tag_for(pet)
    if tag is not None:
        return scan_url(tag, printed=True)
    return _public_page_url(pet)


def primary_photo(pet: Pet) -> bytes | None:
    """The primary photo's card JPEG; a missing file leaves the card without a thumbnail."""
    photo = Photo.objects.filter(pet=pet, is_primary=True).first()
    if photo is None:
        return None
    name = photo.path(PhotoVariant.CARD, "jpeg")
    try:
        with default_storage.open(name, "rb") as handle:
            return bytes(handle.read())
    except (OSError, ValueError):
        log.warning("wallet photo missing", extra={"pet_id": pet.pk, "photo": name})
        return None


def content_of(pet: Pet, *, photo: bool = True) -> PassContent:
    """The card of ``pet`` (already access-checked by the caller); ``photo=False`` skips
    reading the photo (Google's card has none)."""
    barcode = barcode_url(pet)
    return PassContent(
        serial=pass_serial(pet),
        name=pet.name,
        species=str(pet.get_species_display()),
        breed=pet.breed,
        microchip=pet.microchip,
        contact=emergency_contact(pet),
        barcode_url=barcode,
        photo=primary_photo(pet) if photo else None,
        revision=pet.revision,
        page_missing=barcode is None and _lostpet_installed(),
    )


def pass_content(*, user: User, pet_id: int, photo: bool = True) -> PassContent:
    """The card of the pet ``pet_id`` for anyone who may see it (``NotFound`` for anyone
    else, as every selector)."""
    return content_of(pet_get(user=user, pet_id=pet_id), photo=photo)


def wallet_export_rows(user: User) -> ExportSection:
    """``wallet_passes`` in ``user``'s export: for each pet of their households, the ids a
    wallet card of it carries (the Apple serial number; the Google object id when Google
    Wallet is set up). Nothing else is kept: the cards are made on request."""
    issuer = settings.WALLET_GOOGLE_ISSUER_ID
    rows = [
        {
            "pet_id": pet.pk,
            "serial": pass_serial(pet),
            "google_object_id": f"{issuer}.{pass_serial(pet)}" if issuer else None,
        }
        for pet in pet_list(user=user).order_by("pk")
    ]
    return ExportSection(rows={"wallet_passes": rows})
