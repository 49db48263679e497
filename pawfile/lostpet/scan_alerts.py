"""Lost mode's scan alert: while a pet is lost, each scan of one of its tags alerts its owners.

``scans_alert`` is connected to ``qr.hooks`` (``LostpetConfig.ready``) and runs after every
batch of scans the QR app wrote. It keeps it cheap for the usual case, no pet lost: one query
finds the scanned codes that are tags of a lost pet, and an empty answer ends it. A scan whose
user agent looked like a bot alerts nobody.

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
from pawfile.qr.hooks import RecordedScan
from pawfile.qr.models import QRCode

ALERTED_ROLES = (Role.OWNER, Role.CARETAKER)


def scans_alert(scans: Sequence[RecordedScan]) -> int:
    """Store and alert the scans of lost pets' tags among ``scans``; how many were stored."""
    people = [scan for scan in scans if not scan.bot]
    if not people:
        return 0
    lost_pets = PublicProfile.objects.filter(is_lost=True).values("pet_id")
    tags = dict(
        QRCode.objects.filter(
            pk__in={scan.code_id for scan in people},
            target_kind=TargetKind.PET_PAGE,
            target_ref__in=lost_pets,
        ).values_list("pk", "target_ref")
    )
    if not tags:
        return 0
    stored = 0
    for scan in people:
        pet_id = tags.get(scan.code_id)
        if pet_id is not None and _scan_store(pet_id=int(pet_id), scan=scan):
            stored += 1
    return stored


def _scan_store(*, pet_id: int, scan: RecordedScan) -> bool:
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
        hour = scan.at.replace(minute=0, second=0, microsecond=0)
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
            code_id=scan.code_id,
            alerted=alerted_this_hour < settings.PAWFILE_LOST_SCAN_ALERTS_PER_HOUR,
        )
        Sighting.objects.filter(pk=sighting.pk).update(created_at=scan.at)
        sighting.created_at = scan.at
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
