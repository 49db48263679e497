"""What finder reports add to the shared features (``pawfile.lib.registry``).

``register()`` is called from the lost-pet app's ``AppConfig.ready`` (through its
``contributions.register``): the "Reports from finders" panel on the pet page, the sightings
and replies in a user's export, and their photos when an account, a household or pets are
deleted (the rows go with the pet by the database's cascade).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from pawfile.lib import registry
from pawfile.lib.registry import ArchiveFile, ExportSection

APP = "lostpet_sightings"
PANEL_SIZE = 3


def _panel(request: HttpRequest, pet: Any) -> dict[str, Any]:
    from pawfile.lostpet.models import Sighting

    rows = Sighting.objects.filter(profile__pet_id=pet.pk)
    return {
        "lostpet_sightings": list(rows[:PANEL_SIZE]),
        "lostpet_unread": rows.filter(read_at__isnull=True).count(),
    }


def export_rows(user: Any) -> ExportSection:
    """``lost_pet_sightings``: the reports about the pets of ``user``'s households, with the
    replies; the finder's contact only where they chose to share it; their photos."""
    from pawfile.lostpet.models import Sighting
    from pawfile.lostpet.sightings import sighting_rows

    rows = (
        Sighting.objects.filter(profile__pet__household__memberships__user=user)
        .select_related("profile")
        .prefetch_related("replies")
        .order_by("pk")
        .distinct()
    )
    files = [
        ArchiveFile(storage_name=s.photo, archive_name=f"sightings/{s.photo.rsplit('/', 1)[-1]}")
        for s in rows
        if s.photo
    ]
    return ExportSection(rows={"lost_pet_sightings": sighting_rows(rows)}, files=files)


def _photos(sightings: Any) -> list[str]:
    return [name for name in sightings.exclude(photo="").values_list("photo", flat=True)]


def pets_clear(pets: Any) -> list[str]:
    """The stored photos of the sightings of ``pets`` (their rows go by cascade)."""
    from pawfile.lostpet.models import Sighting

    return _photos(Sighting.objects.filter(profile__pet__in=pets))


def household_clear(household: Any) -> list[str]:
    from pawfile.lostpet.models import Sighting

    return _photos(Sighting.objects.filter(profile__pet__household=household))


def account_clear(user: Any) -> list[str]:
    """Replies written by ``user`` stay with the household (their author is unset by the
    database); nothing of the finder side belongs to an account."""
    return []


def register() -> None:
    registry.register_pet_panel(
        app=APP,
        name="sightings",
        template="lostpet/_sightings_panel.html",
        context=_panel,
        slot="main",
        order=20,
        # Every report, scan alert, read mark, reply and deletion bumps the pet's revision
        # (sightings.py, scan_alerts.py).
        cacheable=True,
    )
    registry.register_export_section(app=APP, rows=export_rows)
    registry.register_deletion(
        app=APP, account=account_clear, household=household_clear, pets=pets_clear
    )
