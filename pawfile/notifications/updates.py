"""Pet updates between people (the "miss you" design): services and selectors.

Anyone who may see a pet (a household member of any role, or someone a live grant lets see
it) sends the pet's household an update: a short title and text, and optionally a new photo
(added to the pet's photos, so it needs the right to change the pet: owners and caretakers).
It reaches every other member of the household who has not muted the sender, through their
own channels (``notification_send``, kind ``pet_update``); the notification links to the
update's page, which only its sender and recipients can open, and whose photo is served by
the pets app's access-checked photo URL. Each sender may send ``PET_UPDATE_RATE`` updates
("count/seconds"); one more is refused with ``TooMany``.

A recipient mutes a sender (``update_mute``): later updates from them skip that recipient.
Mutes only name people who share a household with the muting person (anyone else is
``NotFound``, so a mute cannot probe who has an account).
"""

from __future__ import annotations

from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from pawfile.accounts.access import Action, access_of
from pawfile.accounts.models import Membership, User
from pawfile.lib.errors import Forbidden, Invalid, NotFound, TooMany
from pawfile.lib.ratelimit import Rule, ratelimit_hit
from pawfile.lib.text import plain_line
from pawfile.notifications import ai
from pawfile.notifications.choices import Kind
from pawfile.notifications.models import Mute, PetUpdate
from pawfile.notifications.services import notification_send
from pawfile.pets import selectors as pet_selectors
from pawfile.pets.models import Pet

TITLE_MAX = 60
BODY_MAX = 300


# --- Selectors -------------------------------------------------------------------------------


def update_pet(*, user: User, pet_id: int) -> Pet:
    """The pet ``user`` may send an update about (may see); ``NotFound`` otherwise."""
    return pet_selectors.pet_get(user=user, pet_id=pet_id, action=Action.VIEW)


def update_recipients(*, pet: Pet, sender: User) -> list[User]:
    """Who an update from ``sender`` about ``pet`` reaches: the active members of the
    pet's household other than the sender, minus those who muted the sender."""
    muted = Mute.objects.filter(sender=sender).values("user_id")
    return list(
        User.objects.filter(memberships__household_id=pet.household_id, is_active=True)
        .exclude(pk=sender.pk)
        .exclude(pk__in=muted)
        .order_by("pk")
        .distinct()
    )


def updates_received(*, user: User) -> QuerySet[PetUpdate]:
    """The updates that reached ``user``, newest first."""
    if not user.is_authenticated:
        return PetUpdate.objects.none()
    return (
        PetUpdate.objects.filter(recipients=user)
        .select_related("pet", "sender", "photo")
        .order_by("-id")
    )


def update_get(*, user: User, update_id: int) -> PetUpdate:
    """An update its sender or one of its recipients opens; ``NotFound`` for anyone else."""
    from pawfile.lib import sqlrows

    if not user.is_authenticated or not sqlrows.is_id(update_id):
        raise NotFound(_("Not found."))
    found = PetUpdate.objects.select_related("pet", "sender", "photo").filter(pk=update_id).first()
    if found is None or not (
        found.sender_id == user.pk or found.recipients.filter(pk=user.pk).exists()
    ):
        raise NotFound(_("Not found."))
    return found


def mutes_of(*, user: User) -> QuerySet[Mute]:
    """The senders ``user`` muted."""
    return Mute.objects.filter(user=user).select_related("sender").order_by("sender__name", "pk")


def muted(*, user: User, sender_id: int | None) -> bool:
    return bool(sender_id) and Mute.objects.filter(user=user, sender_id=sender_id).exists()


# --- Services --------------------------------------------------------------------------------


def update_draft(*, user: User, pet_id: int, note: str = "") -> ai.Draft:
    """A draft (title ≤ 30, text ≤ 100 characters) for an update about the pet, from the
    AI provider or the template (``ai.draft_make``). ``NotFound`` for a pet ``user`` may not
    see. The provider's failures never reach the caller. Past three drafts per allowed
    update (``PET_UPDATE_RATE``) the template answers without asking the provider."""
    pet = update_pet(user=user, pet_id=pet_id)
    if ai.ai_available():
        # Each draft may cost the site money at the provider: three per update allowed,
        # then the template answers until the window ends.
        rule = Rule.parse(settings.PET_UPDATE_RATE)
        decision = ratelimit_hit(
            "pet_update_draft", str(user.pk), Rule(rule.count * 3, rule.seconds)
        )
        if not decision.allowed:
            return ai.draft_template(pet_name=pet.name, note=note or "")
    return ai.draft_make(pet_name=pet.name, species=str(pet.species or ""), note=note or "")


def _check_text(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    problems: dict[str, list[str]] = {}
    if not title:
        problems["title"] = [_("Give the update a title.")]
    elif len(title) > TITLE_MAX:
        problems["title"] = [_("Keep the title to %(max)d characters.") % {"max": TITLE_MAX}]
    if not body:
        problems["body"] = [_("Write a few words.")]
    elif len(body) > BODY_MAX:
        problems["body"] = [_("Keep the text to %(max)d characters.") % {"max": BODY_MAX}]
    if problems:
        raise Invalid(fields=problems)
    plain_line(title, field="title")
    if any(ord(c) < 32 and c not in "\n\r" for c in body):
        raise Invalid(_("The text has control characters."), field="body")
    return title, body


def pet_update_send(
    *,
    sender: User,
    pet_id: int,
    title: str,
    body: str,
    photo: IO[bytes] | None = None,
    photo_id: int | None = None,
    drafted: str = PetUpdate.Drafted.SENDER,
) -> PetUpdate:
    """Send an update about pet ``pet_id`` to its household (see the module docstring).

    ``NotFound`` for a pet ``sender`` may not see; ``Invalid`` (on ``title``, ``body`` or
    ``photo``) for bad text or a bad image; ``Forbidden`` for a photo from someone who may
    not change the pet; ``TooMany`` past ``PET_UPDATE_RATE``. Nothing is stored or sent
    when refused. ``photo_id`` attaches one of the pet's existing photos instead of a new
    one (``NotFound`` on ``photo_id`` when it is not one of this pet's)."""
    pet = update_pet(user=sender, pet_id=pet_id)
    title, body = _check_text(title, body)
    if drafted not in PetUpdate.Drafted.values:
        drafted = PetUpdate.Drafted.SENDER
    access = access_of(pet)
    if photo is not None and (access is None or not access.allows(Action.WRITE)):
        raise Forbidden(_("Only the pet's owners and caretakers can add a photo."))
    stored_photo = None
    if photo_id is not None:
        from pawfile.pets.models import Photo

        stored_photo = Photo.objects.filter(pk=photo_id, pet=pet).first()
        if stored_photo is None:
            # an id that names nothing the sender can use here: as for any such id, 404
            raise NotFound(_("That photo is not one of this pet's."), field="photo_id")
    decision = ratelimit_hit("pet_update", str(sender.pk), Rule.parse(settings.PET_UPDATE_RATE))
    if not decision.allowed:
        raise TooMany(
            _("You have sent many updates. Try again in %(minutes)d minutes.")
            % {"minutes": max(1, (decision.reset + 59) // 60)}
        )
    if photo is not None:
        from pawfile.pets.photos import photo_add

        try:
            stored_photo = photo_add(actor=sender, pet=pet, upload=photo, primary=False)
        except Invalid as exc:
            raise Invalid(exc.message, field="photo") from None
    with transaction.atomic():
        update = PetUpdate.objects.create(
            pet=pet, sender=sender, title=title, body=body, photo=stored_photo, drafted=drafted
        )
        recipients = update_recipients(pet=pet, sender=sender)
        update.recipients.set(recipients)
        link = reverse("pet_update_detail", kwargs={"update_id": update.pk})
        for recipient in recipients:
            notification_send(
                recipient=recipient,
                kind=Kind.PET_UPDATE,
                title=f"{pet.name}: {title}",
                body=body,
                link=link,
                actor=sender,
                pet=pet,
                event_key=f"pet-update:{update.pk}",
            )
    return update


def update_mute(*, user: User, sender_id: int, mute: bool = True) -> bool:
    """Mute (or unmute) pet updates from ``sender_id`` for ``user``; returns whether they
    are muted now. ``NotFound`` for someone who shares no household with ``user`` (or is
    ``user``)."""
    from pawfile.lib import sqlrows

    if not user.is_authenticated or not sqlrows.is_id(sender_id) or sender_id == user.pk:
        raise NotFound(_("Not found."))
    mine = Membership.objects.filter(user=user).values("household_id")
    shares = Membership.objects.filter(user_id=sender_id, household_id__in=mine).exists()
    # Someone they muted earlier may have left the household: unmuting still works.
    if not shares and (mute or not Mute.objects.filter(user=user, sender_id=sender_id).exists()):
        raise NotFound(_("Not found."))
    if mute:
        Mute.objects.get_or_create(user=user, sender_id=sender_id)
    else:
        Mute.objects.filter(user=user, sender_id=sender_id).delete()
    return mute


# --- Shared features (lib.registry): the pet page's button, export, deletion -------------

APP = "notifications.updates"
UPDATE_FIELDS = ("id", "pet_id", "sender_id", "title", "body", "photo_id", "drafted", "created_at")


def export_rows(user: User) -> Any:
    """``pet_updates`` (sent and received) and ``pet_update_mutes`` (whom they muted)."""
    from pawfile.lib.registry import ExportSection

    def rows(queryset: QuerySet[PetUpdate]) -> list[dict[str, Any]]:
        return [
            dict(zip(UPDATE_FIELDS, values, strict=True))
            for values in queryset.values_list(*UPDATE_FIELDS)
        ]

    return ExportSection(
        rows={
            "pet_updates": {
                "sent": rows(PetUpdate.objects.filter(sender=user).order_by("pk")),
                "received": rows(PetUpdate.objects.filter(recipients=user).order_by("pk")),
            },
            "pet_update_mutes": list(
                Mute.objects.filter(user=user).order_by("pk").values("sender_id", "created_at")
            ),
        }
    )


def account_clear(user: User) -> list[str]:
    """Delete the updates ``user`` sent (their words; photos stay the pet's), their place
    among recipients, and mutes by or of them. No files."""
    PetUpdate.objects.filter(sender=user).delete()
    PetUpdate.recipients.through.objects.filter(user_id=user.pk).delete()
    Mute.objects.filter(user=user).delete()
    Mute.objects.filter(sender=user).delete()
    return []


def _panel_context(request: Any, pet: Any) -> dict[str, Any]:
    return {}


def register() -> None:
    from pawfile.lib import registry

    registry.register_export_section(app=APP, rows=export_rows)
    registry.register_deletion(app=APP, account=account_clear)
    registry.register_pet_panel(
        app=APP,
        name="send_update",
        template="notifications/_pet_update_action.html",
        context=_panel_context,
        slot="actions",
        order=60,
        cacheable=True,  # the same link for every pet and person who may see it
    )
