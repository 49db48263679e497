"""Lost mode's scan alert: while a pet is lost, each scan of one of its tags alerts its owners.

``scans_alert`` is connected to ``qr.hooks`` (``LostpetConfig.ready``) and runs after every
batch of scans the QR app wrote (up to 2,000 scans, most of them of codes that are nobody's
lost pet). It filters by code first: unless every scan was a bot's (then nothing is asked),
one query (by the lost flag's index, whatever the batch holds) finds the tags of lost pets,
and an empty answer, the usual case, ends it with no work per scan; otherwise each scan costs
a dictionary lookup, and only a lost pet's scans become datetimes. A scan whose user agent
looked like a bot alerts nobody.

Each scan of a lost pet's tag is stored as a ``Sighting`` (source ``scan``, the tag's id, the
scan's time), so the owners see it with the finder reports. At most
``PAWFILE_LOST_SCAN_ALERTS_PER_HOUR`` of them per pet and clock hour alert the owners and
caretakers at once (``notifications.notification_send``, kind ``lost_pet``: "Rex's tag was
scanned at 14:05", in each person's language and zone); the rest are stored with
``alerted=False`` and go into the one summary per pet and hour that the finder reports' task
sends (``sightings.summaries_send``). A scan carries no place: the alert says so, and a finder
who shares a place does it through the finder form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import override

from pawfile.accounts.choices import Role
from pawfile.accounts.models import User
from pawfile.lib.dates import user_zone_override
from pawfile.lostpet.choices import SightingSource
from pawfile.lostpet.models import PublicProfile, Sighting
from pawfile.notifications.choices import Kind
from pawfile.notifications.services import notification_send
from pawfile.pets.services import pet_revision_bump
from pawfile.qr.choices import TargetKind
from pawfile.qr.hooks import RecordedScan, scan_instant
from pawfile.qr.models import QRCode

ALERTED_ROLES = (Role.OWNER, Role.CARETAKER)


def scans_alert(scans: Sequence[RecordedScan]) -> int:
    """Store and alert the scans of lost pets' tags among ``scans``; how many were stored."""
    if all(bot for _code_id, _at, bot in scans):  # bots alert nobody: no query
        return 0
    tags = lost_tags()
    if not tags:
        return 0
    stored = 0
    for code_id, at, bot in scans:
        pet_id = tags.get(code_id)
        if pet_id is None or bot:
            continue
        if _scan_store(pet_id=pet_id, code_id=code_id, at=scan_instant(at)):
            stored += 1
    return stored


def lost_tags() -> dict[str, int]:
    """``{code id: pet id}`` of the tags of the pets that are lost now (one query)."""
    lost_pets = PublicProfile.objects.filter(is_lost=True).values("pet_id")
    rows = QRCode.objects.filter(
        target_kind=TargetKind.PET_PAGE, target_ref__in=lost_pets
    ).values_list("pk", "target_ref")
    return {code_id: pet_id for code_id, pet_id in rows if pet_id is not None}


def _scan_store(*, pet_id: int, code_id: str, at: dt.datetime) -> bool:
    with transaction.atomic():
        # One scan at a time per pet, so the hourly cap is exact under concurrency.
        profile = (
            PublicProfile.objects.select_for_update()
            .select_related("pet")
            .filter(pet_id=pet_id, is_lost=True)
            .first()
        )
        if profile is None:  # found again meanwhile
            return False
        hour = at.replace(minute=0, second=0, microsecond=0)
        alerted_this_hour = Sighting.objects.filter(
            profile=profile,
            source=SightingSource.SCAN,
            alerted=True,
            created_at__gte=hour,
            created_at__lt=hour + dt.timedelta(hours=1),
        ).count()
        sighting = Sighting.objects.create(
            profile=profile,
            source=SightingSource.SCAN,
            code_id=code_id,
            alerted=alerted_this_hour < settings.PAWFILE_LOST_SCAN_ALERTS_PER_HOUR,
        )
        Sighting.objects.filter(pk=sighting.pk).update(created_at=at)
        sighting.created_at = at
        pet_revision_bump(pet_id)  # the pet page lists the latest reports
        if sighting.alerted:
            _alert(profile, sighting)
    return True


def recipients(profile: PublicProfile) -> list[User]:
    """The owners and caretakers of the pet's household (the people who look for it)."""
    return list(
        User.objects.filter(
            memberships__household_id=profile.pet.household_id,
            memberships__role__in=ALERTED_ROLES,
            is_active=True,
        ).order_by("pk")
    )


def _alert(profile: PublicProfile, sighting: Sighting) -> None:
    pet = profile.pet
    link = reverse("pet_detail", kwargs={"pet_id": pet.pk})
    for user in recipients(profile):
        with override(user.locale or None), user_zone_override(user):
            at = localtime(sighting.created_at).strftime("%H:%M")  # 24 h: clear in any language
            title = _("%(name)s's tag was scanned at %(time)s") % {"name": pet.name, "time": at}
            body = _(
                "Someone just scanned tag %(tag)s of %(name)s, who is marked lost. A scan "
                "carries no place: if the finder shares where they are, you get a second "
                "alert with it."
            ) % {"tag": sighting.code_id, "name": pet.name}
        notification_send(
            recipient=user, kind=Kind.LOST_PET, title=title, body=body, link=link, pet=pet,
            event_key=f"lost-scan:{sighting.pk}",
        )  # fmt: skip
