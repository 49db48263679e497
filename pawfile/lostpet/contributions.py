"""What the lost-pet app adds to the shared features (``pawfile.lib.registry``) and to the
apps below it, called once from ``LostpetConfig.ready``:

* export: the public profiles of the pets of every household the user belongs to
  (``lostpet_profiles``: the owner's choices, lost mode) and their tags
  (``lostpet_tags``: which code leads to which pet's page; the codes themselves and their
  scans are in the QR app's section);
* deletion: a household's or pets' profiles go (the database cascade would take them too;
  said here so the deletion is explicit; their sightings go with them);
* the pet page's panel ("If lost": the public link, lost mode, tags; cached by the pet's
  revision);
* ``qr.petpage``: a pet's tag leads to ``/p/{slug}``;
* ``qr.hooks``: scans of a lost pet's tags alert its owners (``scan_alerts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest

from pawfile.lib import registry
from pawfile.lib.registry import ExportSection
from pawfile.lostpet.models import PublicProfile
from pawfile.qr import hooks, petpage
from pawfile.qr.choices import TargetKind
from pawfile.qr.models import QRCode

APP = "lostpet"
PROFILE_FIELDS = (
    "pet_id", "slug", "show_photo", "show_species", "show_sex", "show_age", "show_allergies",
    "show_medication", "show_special_needs", "contact_mode", "public_message", "is_lost",
    "lost_since", "last_seen_at", "last_seen_place", "reward", "lost_message", "found_at",
    "created_at", "updated_at",
)  # fmt: skip


def export_rows(user: Any) -> ExportSection:
    households = user.memberships.values("household_id")
    profiles = PublicProfile.objects.filter(pet__household__in=households).order_by("pet_id")
    tags = QRCode.objects.filter(
        household__in=households, target_kind=TargetKind.PET_PAGE
    ).order_by("created_at", "id")
    return ExportSection(
        rows={
            "lostpet_profiles": [{n: getattr(p, n) for n in PROFILE_FIELDS} for p in profiles],
            "lostpet_tags": [
                {"code_id": t.id, "pet_id": t.target_ref, "title": t.title} for t in tags
            ],
        }
    )


def household_clear(household: Any) -> list[str]:
    PublicProfile.objects.filter(pet__household=household).delete()
    return []


def pets_clear(pets: Any) -> list[str]:
    PublicProfile.objects.filter(pet__in=pets).delete()
    return []


def pet_panel_context(request: HttpRequest, pet: Any) -> Mapping[str, Any]:
    """``views.pet_panel_context`` (views load when first drawn)."""
    from pawfile.lostpet import views

    return views.pet_panel_context(request, pet)


def pet_page_path(pet: Any) -> str:
    """The path a tag of ``pet`` leads to: its public page (made on first need; asked when
    a tag is made or linked, a write)."""
    from pawfile.lostpet.services import profile_for_pet

    return f"/p/{profile_for_pet(pet).slug}"


def scans_alert(scans: Any) -> None:
    from pawfile.lostpet.scan_alerts import scans_alert as alert

    alert(scans)


def register() -> None:
    from pawfile.lostpet import sighting_contributions

    # First: its deletion lists the sightings' photos before ``pets_clear`` below deletes
    # the profiles (and, by cascade, the sightings).
    sighting_contributions.register()
    registry.register_export_section(app=APP, rows=export_rows)
    registry.register_deletion(app=APP, household=household_clear, pets=pets_clear)
    registry.register_pet_panel(
        app=APP,
        name="lostpet",
        template="lostpet/_pet_panel.html",
        context=pet_panel_context,
        order=15,
        # Making the profile, every change of it and of the pet's tags bump the pet's
        # revision (services._save, services.profile_for_pet, qr.services).
        cacheable=True,
    )
    petpage.pet_page_path_register(pet_page_path)
    hooks.scans_recorded_connect(scans_alert, uid="lostpet.scans_alert")
