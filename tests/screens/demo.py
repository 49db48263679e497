"""A demo household built through the services, as a person would fill it in.

``demo_household_create(today=...)`` makes Alex (owner) with Sam (caretaker) in "The
Rivera household": two pets with photos, a record of every kind, notes, contacts and a
pending invitation; and Sam's own household, where Alex is a viewer (so Alex sees the
household menu and a 403). ``demo_pages(demo)`` lists every page a person reaches, by name
and path, signed in or not. Nothing here reaches past the services and the models.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

from PIL import Image, ImageDraw

PASSWORD = "demo-pass-Pawfile-2026"
OWNER_EMAIL = "alex.rivera@example.org"
MEMBER_EMAIL = "sam.okafor@example.org"


@dataclass(frozen=True)
class Demo:
    owner_id: int
    household_id: int
    other_household_id: int
    dog_id: int
    cat_id: int
    other_pet_id: int
    vaccination_id: int
    note_id: int
    contact_id: int
    lost_slug: str = ""  # the dog's public page (lost, every switch on)
    batch_id: int = 0  # a batch of pre-printed tags (Alex is a QR manager)
    tag_id: str = ""  # one of its tags, unclaimed
    poster_id: str = ""  # a generic QR code with scans


@dataclass(frozen=True)
class Screen:
    """One page: a short file-safe name, its path, and whether it needs the signed-in owner."""

    name: str
    path: str
    signed_in: bool = True
    status: int = 200


def _photo(colour: tuple[int, int, int], accent: tuple[int, int, int]) -> io.BytesIO:
    """A 640×640 JPEG: a coloured ground with a simple paw print, so pictures look like pictures."""
    image = Image.new("RGB", (640, 640), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((220, 300, 420, 480), fill=accent)
    for x, y in ((170, 200), (260, 150), (360, 150), (450, 200)):
        draw.ellipse((x - 40, y - 50, x + 40, y + 50), fill=accent)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    out.seek(0)
    return out


def demo_household_create(*, today: dt.date) -> Demo:
    """Create the demo users, households, pets, records, notes and contacts; return their ids."""
    from pawfile.accounts.choices import Role
    from pawfile.accounts.invitations import invitation_accept, invitation_create, invitation_token
    from pawfile.accounts.models import Membership
    from pawfile.accounts.services import user_create
    from pawfile.health import services as health
    from pawfile.pets import photos
    from pawfile.pets import services as pets

    owner = user_create(
        email=OWNER_EMAIL,
        password=PASSWORD,
        name="Alex Rivera",
        household_name="The Rivera household",
    )
    member = user_create(email=MEMBER_EMAIL, password=PASSWORD, name="Sam Okafor")
    for user in (owner, member):
        user.emailaddress_set.create(email=user.email, verified=True, primary=True)
    household = Membership.objects.get(user=owner).household
    other_household = Membership.objects.get(user=member).household

    invitation = invitation_create(
        household=household, actor=owner, email=MEMBER_EMAIL, role=Role.CARETAKER
    )
    invitation_accept(token=invitation_token(invitation), user=member)
    invitation = invitation_create(
        household=other_household, actor=member, email=OWNER_EMAIL, role=Role.VIEWER
    )
    invitation_accept(token=invitation_token(invitation), user=owner)
    invitation_create(
        household=household, actor=owner, email="jo.lee@example.org", role=Role.VIEWER
    )

    dog = pets.pet_create(
        actor=owner, household=household, name="Luna", species="dog", breed="Border Collie",
        sex="female", birth_date=today.replace(year=today.year - 4), neutered=True,
        microchip="985112004567890", colour="Black and white", size="medium",
        allergies="Chicken", vet_name="Dr. Ana Morales", vet_phone="+34 912 345 678",
        vet_clinic="Clínica Veterinaria Centro",
    )  # fmt: skip
    cat = pets.pet_create(
        actor=owner, household=household, name="Miso", species="cat", breed="",
        sex="male", birth_date=today.replace(year=today.year - 2), neutered=False,
        colour="Ginger tabby",
    )  # fmt: skip
    other_pet = pets.pet_create(actor=member, household=other_household, name="Pip", species="bird")
    photos.photo_add(actor=owner, pet=dog, upload=_photo((225, 236, 231), (15, 118, 110)))
    photos.photo_add(actor=owner, pet=dog, upload=_photo((246, 232, 210), (181, 71, 8)))
    photos.photo_add(actor=owner, pet=cat, upload=_photo((250, 224, 200), (196, 92, 38)))

    day = dt.timedelta(days=1)
    vaccination = health.record_create(
        actor=owner, pet=dog, kind="vaccination", name="Rabies", date=today - 340 * day,
        next_due=today + 25 * day, manufacturer="Nobivac", batch="A123-45",
        vet_name="Dr. Ana Morales", clinic="Clínica Veterinaria Centro",
    )  # fmt: skip
    health.record_create(
        actor=owner, pet=dog, kind="vaccination", name="Leptospirosis", date=today - 400 * day,
        next_due=today - 35 * day,
    )  # fmt: skip
    health.record_create(
        actor=owner, pet=dog, kind="deworming", name="Milbemax", date=today - 60 * day,
        deworming_scope="internal", next_due=today + 30 * day,
    )  # fmt: skip
    health.record_create(
        actor=owner, pet=dog, kind="medication", name="Apoquel", date=today - 10 * day,
        dose="16 mg", frequency="Once a day", end_date=today + 20 * day,
    )  # fmt: skip
    health.record_create(
        actor=owner, pet=dog, kind="visit", name="Annual check-up", date=today - 90 * day,
        diagnosis="Healthy; mild tartar", vet_name="Dr. Ana Morales", cost=Decimal("45.00"),
        currency="EUR",
    )  # fmt: skip
    health.record_create(actor=owner, pet=dog, kind="allergy", name="Chicken", severity="moderate")
    health.record_create(
        actor=owner, pet=dog, kind="surgery", name="Spaying", date=today - 900 * day,
        clinic="Clínica Veterinaria Centro",
    )  # fmt: skip
    health.record_create(
        actor=owner, pet=dog, kind="lab", name="Blood panel", date=today - 90 * day,
        result="All values within range",
    )  # fmt: skip
    for days_ago, kilos in ((300, "19.2"), (200, "19.8"), (120, "20.4"), (60, "20.1"), (5, "20.6")):
        health.weight_record(
            actor=owner, pet=dog, value=kilos, unit="kg", date=today - days_ago * day
        )
    health.record_create(
        actor=owner, pet=cat, kind="vaccination", name="Feline trivalent", date=today - 30 * day,
        next_due=today + 335 * day,
    )  # fmt: skip
    health.weight_record(actor=owner, pet=cat, value="4.3", unit="kg", date=today - 30 * day)

    note = pets.note_create(
        actor=owner, pet=dog, title="Feeding", pinned=True,
        body_html="<p>Two meals a day, <strong>no chicken</strong>. 180 g of dry food each.</p>",
    )  # fmt: skip
    pets.note_create(
        actor=member, pet=dog, title="Walks",
        body_html="<p>Loves the long loop by the river; pulls near other dogs.</p>",
    )  # fmt: skip
    contact = pets.contact_create(
        actor=owner, household=household, pet_ids=[dog.pk, cat.pk], name="Dr. Ana Morales",
        relation="Vet", phone="+34 912 345 678", email="clinica@example.org",
        show_on_public_page=True,
    )  # fmt: skip
    pets.contact_create(
        actor=owner, household=household, pet_ids=[dog.pk], name="Marta Rivera",
        relation="Sitter", phone="+34 600 111 222", whatsapp=True,
    )  # fmt: skip
    _demo_inbox(owner=owner, member=member, dog=dog, cat=cat)
    lost_slug = _demo_lost(owner=owner, dog=dog)
    batch_id, tag_id, poster_id = _demo_tags(owner=owner)
    _demo_updates(owner=owner, member=member, dog=dog)
    return Demo(
        owner_id=owner.pk, household_id=household.pk, other_household_id=other_household.pk,
        dog_id=dog.pk, cat_id=cat.pk, other_pet_id=other_pet.pk, vaccination_id=vaccination.pk,
        note_id=note.pk, contact_id=contact.pk, lost_slug=lost_slug,
        batch_id=batch_id, tag_id=tag_id, poster_id=poster_id,
    )  # fmt: skip


def _demo_updates(*, owner: object, member: object, dog: object) -> None:
    """A pet update from the member to the owner (with the dog's photo) and an Apprise
    address of the owner's (never used: the screenshots send nothing)."""
    from pawfile.notifications.models import AppriseTarget
    from pawfile.notifications.updates import pet_update_send

    photo = dog.photos.order_by("pk").first()  # type: ignore[attr-defined]
    pet_update_send(
        sender=member, pet_id=dog.pk, title="Luna loved the river",  # type: ignore[arg-type, attr-defined]
        body="Two hours by the water, one stick brought home. Sleeping now.",
        photo_id=photo.pk if photo else None, drafted="ai",
    )  # fmt: skip
    AppriseTarget.objects.create(
        user=owner, url="ntfys://ntfy.sh/pawfile-rivera-8c1f", masked="ntfys://ntfy.sh",
        label="My phone (ntfy)",
    )  # fmt: skip
    _demo_phone(owner=owner)


def _demo_phone(*, owner: object) -> None:
    """The owner's verified SMS number, turned on again after a STOP the carrier still
    honours (the phone page's "Blocked by your carrier" badge; ``shoot`` turns SMS on)."""
    from django.utils import timezone

    from pawfile.notifications.models import PhoneChannel
    from pawfile.notifications.phone_numbers import phone_key

    now = timezone.now()
    PhoneChannel.objects.create(
        user=owner, channel="sms", phone="+34600123456", phone_key=phone_key("+34600123456"),
        verified_at=now, opted_in=True, stopped_at=now,
    )  # fmt: skip


def _demo_inbox(*, owner: object, member: object, dog: object, cat: object) -> None:
    """Three notifications in the owner's inbox, one already read."""
    from django.utils import timezone

    from pawfile.notifications.models import Notification
    from pawfile.notifications.services import notification_send

    sent = [
        notification_send(
            recipient=owner, kind="reminder", title="Heartworm pill for Luna",
            body="Due today at 20:00.", pet=dog, event_key="demo:reminder",
        ),
        notification_send(
            recipient=owner, kind="pet_update", title="Miso had a great day",
            body="Slept in the sun all afternoon and ate everything.", actor=member, pet=cat,
            event_key="demo:update",
        ),
        notification_send(
            recipient=owner, kind="household", title="Sam joined The Rivera household",
            body="Sam can now help look after your pets.", event_key="demo:household",
        ),
    ]  # fmt: skip
    last = sent[-1]
    if last is not None:
        Notification.objects.filter(pk=last.pk).update(read_at=timezone.now())


def _demo_lost(*, owner: object, dog: object) -> str:
    """Luna is lost: every public switch on, contacts shown, one tag; her page's slug."""
    from django.utils import timezone

    from pawfile.lostpet import services as lostpet
    from pawfile.qr import services as qr

    lostpet.profile_update(
        actor=owner, pet=dog, **{name: True for name in lostpet.VISIBILITY_FIELDS},
        contact_mode="shown", public_message="Friendly but shy. Please do not chase her.",
    )  # fmt: skip
    profile = lostpet.lost_mark(
        actor=owner, pet=dog, last_seen_at=timezone.now() - dt.timedelta(hours=3),
        last_seen_place="Parque del Retiro, north gate", reward="200 EUR",
        lost_message="She ran after a cat. She answers to her name and loves cheese.",
    )  # fmt: skip
    qr.pet_code_create(actor=owner, pet=dog)
    _demo_sightings(profile=profile)
    return profile.slug


def _demo_sightings(*, profile: object) -> None:
    """Two finders' reports about Luna: one with the phone's location and a shared contact,
    one with a typed place (read)."""
    from django.utils import timezone

    from pawfile.lostpet import sightings
    from pawfile.lostpet.models import PublicProfile, Sighting

    assert isinstance(profile, PublicProfile)
    first = sightings.sighting_report(
        profile=profile, client_address="198.51.100.10",
        report=sightings.FinderReport(
            message="I think I saw her near the fountain, heading to the lake.",
            place_text="Retiro, Fuente de la Alcachofa",
        ),
        now=timezone.now() - dt.timedelta(hours=2),
    )  # fmt: skip
    Sighting.objects.filter(pk=first.pk).update(read_at=timezone.now())
    sightings.sighting_report(
        profile=profile, client_address="198.51.100.11",
        report=sightings.FinderReport(
            message="She is with me, safe and drinking water. Black and white, red collar.",
            name="Carmen", phone="+34 655 000 111", email="carmen@example.net",
            shares_contact=True, latitude=Decimal("40.41524"), longitude=Decimal("-3.68446"),
        ),
    )  # fmt: skip


def _demo_tags(*, owner: object) -> tuple[int, str, str]:
    """Alex manages QR codes too: a batch of six pre-printed tags, two claimed, and a poster
    code with scans; the batch's id, an unclaimed tag's and the poster's."""
    from django.contrib.auth.models import Permission

    from pawfile.accounts.models import User
    from pawfile.pets.models import Pet
    from pawfile.qr import batches
    from pawfile.qr import services as qr

    assert isinstance(owner, User)
    owner.user_permissions.add(Permission.objects.get(codename="qr_manager"))
    owner = User.objects.get(pk=owner.pk)  # the permission cache, fresh
    batch = batches.batch_create(
        actor=owner, count=6, note="Adoption fair, spring", frame_text="IF FOUND, SCAN ME"
    )
    codes = list(batches.batch_codes(batch))
    mine = Pet.objects.filter(
        household__memberships__user=owner, household__memberships__role="owner"
    )
    for code, pet in zip(codes[:2], mine.order_by("pk"), strict=False):
        qr.pet_code_link(actor=owner, code_id=code.id, pet=pet)
    return batch.pk, codes[-1].id, _demo_poster(owner)


def _demo_poster(owner: object) -> str:
    """A generic code with three weeks of scans from a few kinds of phones."""
    from django.utils import timezone

    from pawfile.qr import services as qr
    from pawfile.qr.models import QRCode, Scan

    code = qr.code_create(
        actor=owner, title="Adoption day poster", target_url="https://shelter.example/adopt",
        frame_text="SCAN ME",
    )  # fmt: skip
    phones = [("iPhone", "iOS", "Mobile Safari"), ("Pixel 8", "Android", "Chrome Mobile"),
              ("K", "Android", "Samsung Internet"), ("Mac", "Mac OS X", "Safari")]  # fmt: skip
    now = timezone.now()
    scans = [
        Scan(code=code, at=now - dt.timedelta(days=day, hours=n), genuine=n % 3 != 0,
             visitor=f"v{day}-{n % 4}", device=phones[n % 4][0], os=phones[n % 4][1],
             browser=phones[n % 4][2])
        for day in range(21) for n in range((day * 7) % 9 + 1)
    ]  # fmt: skip
    Scan.objects.bulk_create(scans)
    QRCode.objects.filter(pk=code.pk).update(scan_count=len(scans), last_scan_at=now)
    return code.id


def demo_pages(demo: Demo) -> list[Screen]:
    """Every page there is, for the demo household (signed-out pages first)."""
    d = demo
    return [
        Screen("landing", "/", signed_in=False),
        Screen("login", "/accounts/login/", signed_in=False),
        Screen("signup", "/accounts/signup/", signed_in=False),
        Screen("password-reset", "/accounts/password/reset/", signed_in=False),
        Screen("404-anonymous", "/no-such-page/", signed_in=False, status=404),
        Screen("home", "/home/"),
        Screen("pets", "/pets/"),
        Screen("pet", f"/pets/{d.dog_id}/"),
        Screen("pet-cat", f"/pets/{d.cat_id}/"),
        Screen("pet-new", "/pets/new/"),
        Screen("pet-edit", f"/pets/{d.dog_id}/edit/"),
        Screen("photo-new", f"/pets/{d.dog_id}/photos/new/"),
        Screen("timeline", f"/pets/{d.dog_id}/timeline/"),
        Screen("record", f"/records/{d.vaccination_id}/"),
        Screen("record-new", f"/pets/{d.dog_id}/records/new/vaccination/"),
        Screen("record-edit", f"/records/{d.vaccination_id}/edit/"),
        Screen("notes", f"/pets/{d.dog_id}/notes/"),
        Screen("note-new", f"/pets/{d.dog_id}/notes/new/"),
        Screen("reminders", f"/pets/{d.dog_id}/reminders/"),
        Screen("reminder-new", f"/pets/{d.dog_id}/reminders/new/"),
        Screen("reminders-all", "/reminders/"),
        Screen("notifications", "/notifications/"),
        Screen("notification-settings", "/notifications/settings/"),
        Screen("apprise", "/notifications/apprise/"),
        Screen("phone", "/notifications/phone/"),
        Screen("pet-update-new", f"/pets/{d.dog_id}/updates/new"),
        Screen("pet-updates", "/updates/"),
        Screen("household", f"/households/{d.household_id}/"),
        Screen("household-other", f"/households/{d.other_household_id}/"),
        Screen("contacts", f"/households/{d.household_id}/contacts/"),
        Screen("contact-new", f"/households/{d.household_id}/contacts/new/"),
        Screen("contact-edit", f"/contacts/{d.contact_id}/edit/"),
        Screen("preferences", "/preferences/"),
        Screen("data", "/data/"),
        Screen("account-delete", "/data/delete-account/"),
        Screen("email", "/accounts/email/"),
        Screen("password-change", "/accounts/password/change/"),
        Screen("2fa", "/accounts/2fa/"),
        Screen("2fa-totp", "/accounts/2fa/totp/activate/"),
        Screen("passkeys", "/accounts/2fa/webauthn/"),
        Screen("sessions", "/accounts/sessions/"),
        Screen("lost-public", f"/p/{d.lost_slug}", signed_in=False),
        Screen("lost-public-settings", f"/pets/{d.dog_id}/public/"),
        Screen("lost-mode", f"/pets/{d.dog_id}/lost/"),
        Screen("lost-tags", f"/pets/{d.dog_id}/tags/"),
        Screen("lost-finder-form", f"/p/{d.lost_slug}/found/", signed_in=False),
        Screen("lost-sightings", f"/pets/{d.dog_id}/sightings/"),
        Screen("tag-claim-anonymous", f"/t/{d.tag_id}", signed_in=False),
        Screen("tag-claim", f"/t/{d.tag_id}"),
        Screen("qr-batches", "/qr/batches/"),
        Screen("qr-batch", f"/qr/batches/{d.batch_id}/"),
        Screen("qr-codes", "/qr/"),
        Screen("qr-code", f"/qr/{d.poster_id}/"),
        # The other household's pet has neither tag nor public page: its poster asks to
        # make the page first.
        Screen("public-page-needed", f"/pets/{d.other_pet_id}/poster.pdf?lang=en"),
        # Without WALLET_* settings (the screenshots' server has none): the page saying so.
        Screen("wallet-unavailable", f"/pets/{d.dog_id}/wallet/apple.pkpass", status=409),
        Screen("403", f"/pets/{d.other_pet_id}/edit/", status=403),
        Screen("404", "/pets/999999/", status=404),
    ]
