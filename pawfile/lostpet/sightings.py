"""Finder reports ("I found this pet") and the owners' replies: writes and reads.

A stranger on a pet's public page tells its owners what they saw: a message, optionally
their name, phone and email, a photo and a place (coordinates from their phone's location,
or typed). ``sighting_report`` stores it as a ``Sighting`` and alerts the owners at once
through ``notifications.notification_send`` (kind ``lost_pet``: the inbox and email now,
whatever channels the notifications app adds later), with an OpenStreetMap link to the
coordinates (the server fetches no map).

Who is alerted: the household's owners and caretakers (the people who look for the pet).
Who sees sightings: every member (``view``); marking read, replying and deleting need
``write``. A stranger gets ``NotFound`` for every sighting, like for the pet.

Abuse, in this order:

1. the view drops a filled honeypot silently (the bot sees a thank-you; nothing is stored);
2. ``PAWFILE_SIGHTING_RATELIMIT_IP`` per client address, then
   ``PAWFILE_SIGHTING_RATELIMIT_PET`` per pet: ``TooMany`` (429). The pet's bucket is only
   counted once the address passed, so one flooding address cannot lock the form for
   honest finders of the same pet;
3. at most ``PAWFILE_SIGHTING_ALERTS_PER_HOUR`` alerts per pet per clock hour; later reports
   are stored (``alerted=False``) and ``summaries_send`` (a periodic task) sends one summary
   per pet and hour once the hour has ended.

Privacy: the finder's name, phone and email reach the owners only if the finder ticked
"share my contact" (``finder_contact``); the email is kept to relay replies either way. A
reply is mailed to the finder's address by ``sighting_reply``; the owner's address is never
in it. It carries the pet's public contacts only if the owner shows them on the public page.
No client address is stored: ``visitor`` is a salted hash of it and the day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from pawfile.accounts.access import Action
from pawfile.accounts.choices import Role
from pawfile.accounts.models import User
from pawfile.lib.dates import date_text, user_zone_override
from pawfile.lib.errors import Invalid, NotFound, TooMany
from pawfile.lib.images import MAX_BYTES, image_reencode
from pawfile.lib.images import _read_limited as image_read_limited
from pawfile.lib.ratelimit import Rule, ratelimit_hit
from pawfile.lib.storage import files_delete_on_commit
from pawfile.lib.text import plain_line
from pawfile.lostpet import selectors
from pawfile.lostpet.choices import LocationSource
from pawfile.lostpet.models import PublicProfile, Sighting, SightingReply
from pawfile.notifications.choices import Kind
from pawfile.notifications.services import notification_send
from pawfile.outbox.mail import mail_enqueue
from pawfile.pets.models import Pet
from pawfile.pets.selectors import pet_get
from pawfile.pets.services import pet_revision_bump

MESSAGE_MAX = 2000
REPLY_MAX = 2000
PHOTO_MAX_PIXELS = 24_000_000
ALERTED_ROLES = (Role.OWNER, Role.CARETAKER)
PHOTO_FOLDER = "lostpet/sightings"


class ReportsLimited(TooMany):
    """Too many reports from this address or about this pet: 429, and when to try again."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class FinderReport:
    """What a finder sent (already one-line where it must be; checked by ``sighting_report``)."""

    message: str
    name: str = ""
    phone: str = ""
    email: str = ""
    shares_contact: bool = False
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    place_text: str = ""
    photo: IO[bytes] | None = None


# --- Reads -------------------------------------------------------------------------------------


def profile_by_slug(*, slug: str) -> PublicProfile:
    """The public profile named ``slug`` with its pet; ``NotFound`` for any other text."""
    profile = selectors.profile_by_slug(slug)
    if profile is None:
        raise NotFound(_("Not found."))
    return profile


def sighting_list(*, user: User, pet_id: int) -> tuple[Pet, QuerySet[Sighting]]:
    """The pet (if ``user`` may see it; else ``NotFound``) and its sightings, newest first,
    with their replies."""
    pet = pet_get(user=user, pet_id=pet_id)
    rows = Sighting.objects.filter(profile__pet=pet).prefetch_related("replies")
    return pet, rows


def sighting_get(*, user: User, sighting_id: int, action: Action = Action.VIEW) -> Sighting:
    """One sighting if ``user`` may ``action`` its pet: ``NotFound`` for strangers and for
    ids that do not exist, ``Forbidden`` for a role that may not ``action``."""
    found = (
        Sighting.objects.select_related("profile").filter(pk=sighting_id).first()
        if isinstance(sighting_id, int) and 0 < sighting_id < 2**63
        else None
    )
    if found is None:
        raise NotFound(_("Not found."))
    pet = pet_get(user=user, pet_id=found.profile.pet_id, action=action)
    found.profile.pet = pet
    return found


def sightings_unread_count(*, pet: Pet) -> int:
    return Sighting.objects.filter(profile__pet=pet, read_at__isnull=True).count()


def finder_contact(sighting: Sighting) -> dict[str, str]:
    """The finder's name, phone and email as the owners may see them: empty unless the
    finder chose to share them."""
    if not sighting.finder_shares_contact:
        return {"name": "", "phone": "", "email": ""}
    return {
        "name": sighting.finder_name,
        "phone": sighting.finder_phone,
        "email": sighting.finder_email,
    }


def map_url(latitude: Decimal | None, longitude: Decimal | None) -> str:
    """The OpenStreetMap address of a point (``""`` without one). Nothing is fetched."""
    if latitude is None or longitude is None:
        return ""
    lat, lon = f"{Decimal(latitude):.5f}", f"{Decimal(longitude):.5f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


def public_contacts(profile: PublicProfile) -> list[selectors.PublicContact]:
    """The contacts of the pet that its public page shows (none when the owner hides them
    behind the finder form)."""
    shown = selectors.public_pet(profile=profile, pet=profile.pet, today=timezone.localdate())
    return list(shown.contacts) if shown.contacts_shown else []


def sighting_photo_name(*, user: User, sighting_id: int) -> str:
    """The stored name of a sighting's photo for a member who may see it (``NotFound``
    otherwise, or when it has none)."""
    sighting = sighting_get(user=user, sighting_id=sighting_id)
    if not sighting.photo:
        raise NotFound(_("Not found."))
    return sighting.photo


# --- The finder's report -----------------------------------------------------------------------


def visitor_hash(address: str, *, day: dt.date) -> str:
    salt = f"{settings.SECRET_KEY}:lostpet-visitor:{day.isoformat()}"
    return hashlib.sha256(f"{salt}:{address}".encode()).hexdigest()[:16]


def report_limits_check(*, profile: PublicProfile, client_address: str) -> None:
    """Count one report against the client address, then (if it passed) against the pet.
    Raises ``TooMany`` with a message a person understands."""
    ip_rule = Rule.parse(settings.PAWFILE_SIGHTING_RATELIMIT_IP)
    decision = ratelimit_hit("sighting:ip", client_address, ip_rule)
    if decision.allowed:
        pet_rule = Rule.parse(settings.PAWFILE_SIGHTING_RATELIMIT_PET)
        decision = ratelimit_hit("sighting:pet", str(profile.pk), pet_rule)
    if not decision.allowed:
        minutes = max(1, (decision.reset + 59) // 60)
        raise ReportsLimited(
            _(
                "Too many reports were sent just now. Please wait %(minutes)d minutes and "
                "try again; if the pet is with you, keep it safe meanwhile."
            )
            % {"minutes": minutes},
            retry_after=decision.reset,
        )


def _coordinates(report: FinderReport) -> tuple[Decimal | None, Decimal | None]:
    lat, lon = report.latitude, report.longitude
    if (lat is None) != (lon is None):
        raise Invalid(_("The location is incomplete; share it again."), field="latitude")
    if lat is None or lon is None:
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Invalid(_("The location is not a place on Earth."), field="latitude")
    return lat.quantize(Decimal("0.00001")), lon.quantize(Decimal("0.00001"))


def _clean(report: FinderReport) -> FinderReport:
    message = report.message.strip()
    if not message:
        raise Invalid(_("Tell the owner what you saw."), field="message")
    if len(message) > MESSAGE_MAX:
        raise Invalid(
            _("Keep the message under %(max)d characters.") % {"max": MESSAGE_MAX},
            field="message",
        )
    for field, value in (
        ("name", report.name), ("phone", report.phone), ("place_text", report.place_text),
    ):  # fmt: skip
        plain_line(value, field=field)
    lat, lon = _coordinates(report)
    return FinderReport(
        message=message, name=report.name.strip()[:120], phone=report.phone.strip()[:32],
        email=report.email.strip()[:254], shares_contact=report.shares_contact,
        latitude=lat, longitude=lon, place_text=report.place_text.strip()[:200],
        photo=report.photo,
    )  # fmt: skip


def _photo_store(profile: PublicProfile, upload: IO[bytes]) -> str:
    """Re-encode the finder's photo (no EXIF, no GPS) and store it; returns its name.
    Raises ``Invalid`` about ``photo``."""
    from pawfile.lib.images import ImageRejected

    try:
        data = image_read_limited(upload, MAX_BYTES)
        encoded, _type, extension = image_reencode(data, max_pixels=PHOTO_MAX_PIXELS)
    except ImageRejected as exc:
        raise Invalid(exc.message, field="photo") from None
    name = f"{PHOTO_FOLDER}/{profile.pk}/{uuid.uuid4().hex}.{extension}"
    return default_storage.save(name, ContentFile(encoded))


def sighting_report(
    *,
    profile: PublicProfile,
    report: FinderReport,
    client_address: str,
    now: dt.datetime | None = None,
) -> Sighting:
    """Store a finder's report on ``profile``'s pet and alert its owners (see the module
    docstring for the limits). Raises ``TooMany`` (429) or ``Invalid`` (422, per field:
    ``message``, ``name``, ``phone``, ``place_text``, ``latitude``, ``photo``); nothing is
    stored then."""
    report_limits_check(profile=profile, client_address=client_address)
    report = _clean(report)
    now = now or timezone.now()
    photo = _photo_store(profile, report.photo) if report.photo is not None else ""
    if report.latitude is not None:
        source = LocationSource.DEVICE
    elif report.place_text:
        source = LocationSource.TYPED
    else:
        source = LocationSource.NONE
    try:
        with transaction.atomic():
            # One report at a time per pet, so the hourly cap is exact under concurrency.
            locked = PublicProfile.objects.select_for_update().select_related("pet")
            profile = locked.get(pk=profile.pk)
            hour = now.replace(minute=0, second=0, microsecond=0)
            alerted_this_hour = Sighting.objects.filter(
                profile=profile, alerted=True, created_at__gte=hour
            ).count()
            sighting = Sighting.objects.create(
                profile=profile, message=report.message, finder_name=report.name,
                finder_phone=report.phone, finder_email=report.email,
                finder_shares_contact=report.shares_contact, photo=photo,
                latitude=report.latitude, longitude=report.longitude, location_source=source,
                place_text=report.place_text, visitor=visitor_hash(client_address, day=now.date()),
                alerted=alerted_this_hour < settings.PAWFILE_SIGHTING_ALERTS_PER_HOUR,
            )  # fmt: skip
            if now != sighting.created_at:
                Sighting.objects.filter(pk=sighting.pk).update(created_at=now)
                sighting.created_at = now
            pet_revision_bump(profile.pet_id)  # the pet page lists the latest reports
            if sighting.alerted:
                _alert(profile=profile, sighting=sighting)
    except BaseException:
        if photo:
            default_storage.delete(photo)
        raise
    return sighting


def _recipients(pet: Pet) -> list[User]:
    return list(
        User.objects.filter(
            memberships__household_id=pet.household_id,
            memberships__role__in=ALERTED_ROLES,
            is_active=True,
        ).order_by("pk")
    )


def _alert(*, profile: PublicProfile, sighting: Sighting) -> None:
    pet = profile.pet
    link = reverse("lostpet:sightings", kwargs={"pet_id": pet.pk})
    for user in _recipients(pet):
        with override(user.locale or None), user_zone_override(user):
            title = _("Someone reported seeing %(name)s") % {"name": pet.name}
            body = render_to_string(
                "lostpet/sightings_alert.txt",
                {
                    "pet": pet,
                    "sighting": sighting,
                    "when": date_text(sighting.created_at),
                    "map_url": map_url(sighting.latitude, sighting.longitude),
                    "contact": finder_contact(sighting),
                },
            ).strip()
        notification_send(
            recipient=user, kind=Kind.LOST_PET, title=title, body=body, link=link, pet=pet,
            event_key=f"sighting:{sighting.pk}",
        )  # fmt: skip


def summaries_send(*, now: dt.datetime | None = None) -> int:
    """Send one summary per pet and clock hour for the reports over the hourly cap, once
    that hour has ended. Idempotent (the notification's event key names the pet and hour;
    the rows are marked ``summarised``). Returns how many summaries were made."""
    now = now or timezone.now()
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    pending = (
        Sighting.objects.filter(alerted=False, summarised=False, created_at__lt=hour_start)
        .select_related("profile__pet")
        .order_by("profile_id", "created_at")
    )
    groups: dict[tuple[int, dt.datetime], list[Sighting]] = {}
    for sighting in pending[:10000]:
        hour = sighting.created_at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        groups.setdefault((sighting.profile_id, hour), []).append(sighting)
    for (_profile_id, hour), rows in groups.items():
        with transaction.atomic():
            _summary(rows[0].profile, hour=hour, rows=rows)
            Sighting.objects.filter(pk__in=[s.pk for s in rows]).update(summarised=True)
    return len(groups)


def _summary(profile: PublicProfile, *, hour: dt.datetime, rows: list[Sighting]) -> None:
    pet = profile.pet
    link = reverse("lostpet:sightings", kwargs={"pet_id": pet.pk})
    for user in _recipients(pet):
        with override(user.locale or None), user_zone_override(user):
            title = ngettext(
                "%(count)d more report about %(name)s",
                "%(count)d more reports about %(name)s",
                len(rows),
            ) % {"count": len(rows), "name": pet.name}
            body = render_to_string(
                "lostpet/sightings_summary.txt",
                {"pet": pet, "count": len(rows), "since": date_text(hour), "rows": rows[:5]},
            ).strip()
        notification_send(
            recipient=user, kind=Kind.LOST_PET, title=title, body=body, link=link, pet=pet,
            event_key=f"sighting-summary:{profile.pk}:{hour:%Y%m%d%H}",
        )  # fmt: skip


# --- The owners' side --------------------------------------------------------------------------


def sighting_mark_read(*, actor: User, sighting_id: int, read: bool = True) -> Sighting:
    """Mark a sighting read (or unread again). ``NotFound``/``Forbidden`` as ``sighting_get``
    with ``write``."""
    sighting = sighting_get(user=actor, sighting_id=sighting_id, action=Action.WRITE)
    value = timezone.now() if read else None
    if (sighting.read_at is None) == read:
        with transaction.atomic():
            Sighting.objects.filter(pk=sighting.pk).update(read_at=value)
            pet_revision_bump(sighting.profile.pet_id)  # the pet page counts unread ones
        sighting.read_at = value
    return sighting


def sightings_mark_all_read(*, actor: User, pet_id: int) -> int:
    pet = pet_get(user=actor, pet_id=pet_id, action=Action.WRITE)
    with transaction.atomic():
        marked = Sighting.objects.filter(profile__pet=pet, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        if marked:
            pet_revision_bump(pet.pk)  # the pet page counts unread ones
    return marked


def sighting_reply(*, actor: User, sighting_id: int, body: str) -> SightingReply:
    """Record the owner's answer to a sighting and mail it to the finder if they left an
    email (the relay: the mail shows the owner's words, never their address; it lists the
    pet's public contacts only if the public page shows them). Marks the sighting read.
    Raises ``Invalid`` about ``body``, ``NotFound``/``Forbidden`` as ``sighting_get``."""
    sighting = sighting_get(user=actor, sighting_id=sighting_id, action=Action.WRITE)
    body = body.strip()
    if not body:
        raise Invalid(_("Write a reply first."), field="body")
    if len(body) > REPLY_MAX:
        raise Invalid(
            _("Keep the reply under %(max)d characters.") % {"max": REPLY_MAX}, field="body"
        )
    with transaction.atomic():
        reply = SightingReply.objects.create(
            sighting=sighting, author=actor, body=body, mailed=bool(sighting.finder_email)
        )
        if sighting.read_at is None:
            Sighting.objects.filter(pk=sighting.pk).update(read_at=timezone.now())
            pet_revision_bump(sighting.profile.pet_id)  # the pet page counts unread ones
        if sighting.finder_email:
            _reply_mail(sighting=sighting, reply=reply)
    return reply


def _reply_mail(*, sighting: Sighting, reply: SightingReply) -> None:
    profile = sighting.profile
    pet = profile.pet
    contacts = public_contacts(profile)
    page_url = f"{settings.PAWFILE_BASE_URL}/p/{profile.slug}"
    # The finder has no account: the mail is in the language the site speaks by default.
    with override(settings.LANGUAGE_CODE):
        subject = _("The owner of %(name)s answered you") % {"name": pet.name}
        text = render_to_string(
            "lostpet/sightings_reply_mail.txt",
            {
                "pet": pet, "reply": reply, "contacts": contacts, "page_url": page_url,
                "site_name": settings.PAWFILE_SITE_NAME,
            },
        )  # fmt: skip
    mail_enqueue(
        key=f"sighting-reply:{reply.pk}", to=[sighting.finder_email],
        subject=f"[{settings.PAWFILE_SITE_NAME}] {subject}", body=text,
    )  # fmt: skip


def sighting_delete(*, actor: User, sighting_id: int) -> None:
    """Delete a sighting (spam, a mistake) with its replies and photo."""
    sighting = sighting_get(user=actor, sighting_id=sighting_id, action=Action.WRITE)
    with transaction.atomic():
        sighting.delete()
        pet_revision_bump(sighting.profile.pet_id)  # the pet page lists the latest reports
        files_delete_on_commit([sighting.photo] if sighting.photo else [])


def sighting_photo_names(sightings: Iterable[Sighting]) -> list[str]:
    return [s.photo for s in sightings if s.photo]


def sighting_rows(sightings: Iterable[Sighting]) -> list[dict[str, Any]]:
    """Plain rows of sightings and their replies for the export (the finder's contact only
    when shared)."""
    rows = []
    for s in sightings:
        rows.append(
            {
                "id": s.pk, "pet_id": s.profile.pet_id, "source": s.source,
                "created_at": s.created_at, "message": s.message, **{
                    f"finder_{k}": v for k, v in finder_contact(s).items()
                }, "latitude": s.latitude, "longitude": s.longitude,
                "place_text": s.place_text, "photo": s.photo or None, "read_at": s.read_at,
                "replies": [
                    {"created_at": r.created_at, "author_id": r.author_id, "body": r.body,
                     "mailed": r.mailed}
                    for r in s.replies.all()
                ],
            }
        )  # fmt: skip
    return rows
