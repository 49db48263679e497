"""Writes for pets, contacts and notes. Photos are in ``pets.photos``.

Every function takes the acting user and checks the access rule (``pawfile.accounts.access``,
through the pet gate for a pet): ``NotFound`` for strangers, ``Forbidden`` for a role too low.
It validates what it is given and refuses with ``Invalid`` and a message per field. Fields a
caller may not set (ids, household, timestamps, revision) are not accepted at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from pawfile.accounts.access import Action, household_access
from pawfile.accounts.models import Grant, Household, User
from pawfile.lib import registry, sqlrows
from pawfile.lib.dates import user_today
from pawfile.lib.errors import Conflict, Invalid
from pawfile.lib.richtext import html_sanitize, html_to_text
from pawfile.lib.storage import files_delete_on_commit
from pawfile.lib.text import plain_lines
from pawfile.pets import selectors
from pawfile.pets.models import Contact, Note, Pet
from pawfile.pets.validators import validate_microchip

PET_FIELDS = (
    "name", "species", "breed", "sex", "birth_date", "birth_date_estimated", "neutered",
    "microchip", "colour", "size", "weight_unit", "allergies", "special_needs", "about",
    "vet_name", "vet_phone", "vet_clinic",
)  # fmt: skip
CONTACT_FIELDS = ("name", "relation", "phone", "whatsapp", "email", "order", "show_on_public_page")
NOTE_FIELDS = ("title", "body_html", "pinned")
# One-line fields: no line breaks or control characters (``lib.text``).
PET_LINES = ("name", "breed", "microchip", "colour", "vet_name", "vet_phone", "vet_clinic")
CONTACT_LINES = ("name", "relation", "phone", "email")


def _only(fields: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise Invalid(fields={name: [_("This field cannot be set.")] for name in unknown})
    return fields


def _save_validated(instance: Any, *, exclude: tuple[str, ...] = ()) -> None:
    """Save after the model's own validation; its refusal becomes ``Invalid``."""
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=True)
    except ValidationError as exc:
        raise Invalid(fields=exc.message_dict) from None
    instance.save()


def pet_revision_bump(pet_id: int) -> None:
    """Mark the pet's data as changed (invalidates derived documents such as the PDF).

    One hand-written UPDATE: it runs after every change to a pet's records, notes or photos
    (:mod:`pawfile.lib.sqlrows` says why)."""
    if not sqlrows.HAND_WRITTEN:  # the benchmark switch (bench/api.py --orm)
        Pet.objects.filter(pk=pet_id).update(revision=F("revision") + 1, updated_at=timezone.now())
        return
    sql, params = pet_revision_bump_statement(pet_id)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)


def pets_revision_bump(pet_ids: Iterable[int]) -> None:
    """``pet_revision_bump`` for many pets in one UPDATE (the reminders' batched tick)."""
    ids = sorted(set(pet_ids))
    if ids:
        Pet.objects.filter(pk__in=ids).update(revision=F("revision") + 1, updated_at=timezone.now())


def pet_revision_bump_statement(pet_id: int) -> sqlrows.Statement:
    """The UPDATE of ``pet_revision_bump`` as (SQL, parameters), for a caller that runs it
    with its own write (``sqlrows.insert(..., along=...)``: one statement on PostgreSQL)."""
    now = connections[DEFAULT_DB_ALIAS].ops.adapt_datetimefield_value(timezone.now())
    return _revision_bump_sql(), [now, pet_id]


def member_pets_revision_bump(user_id: int) -> int:
    """Mark the pages of every pet in ``user_id``'s households as changed for their cache,
    after a change of the user's own that their pet pages show (their calendar address:
    ``lib.registry`` ``per_user`` panels). The pets' data did not change: ``updated_at``
    stays. No access check (a hook); how many pets."""
    households = Household.objects.filter(memberships__user_id=user_id).values("pk")
    return Pet.objects.filter(household__in=households).update(revision=F("revision") + 1)


@cache
def _revision_bump_sql() -> str:
    revision, updated = sqlrows.name(Pet, "revision"), sqlrows.name(Pet, "updated_at")
    return (  # names are quoted by the connection, values are parameters
        f"UPDATE {sqlrows.table(Pet)} SET {revision} = {revision} + 1, {updated} = %s"  # noqa: S608
        f" WHERE {sqlrows.name(Pet, 'id')} = %s"
    )


def _pet_apply(pet: Pet, fields: dict[str, Any], *, today: dt.date) -> None:
    plain_lines(_only(fields, PET_FIELDS), PET_LINES)
    for name, value in fields.items():
        if name == "microchip":
            try:
                value = validate_microchip(value or "")
            except ValidationError as exc:
                raise Invalid(fields={"microchip": exc.messages}) from None
        if isinstance(value, str) and name not in ("about", "allergies", "special_needs"):
            value = value.strip()
        setattr(pet, name, value)
    if pet.birth_date and pet.birth_date > today:
        raise Invalid(_("The birth date cannot be in the future."), field="birth_date")
    if (
        pet.microchip
        and Pet.objects.filter(microchip=pet.microchip).exclude(pk=pet.pk or 0).exists()
    ):
        # A valid number already taken: the site's state refuses it, not the input (409).
        message = _("Another pet on this site already has this microchip number.")
        raise Conflict(message, code="microchip_taken", field="microchip")


def pet_create(*, actor: User, household: Household, **fields: Any) -> Pet:
    """Add a pet to ``household`` (owner or caretaker)."""
    household_access(user=actor, household_id=household.pk, action=Action.WRITE)
    pet = Pet(household=household)
    _pet_apply(pet, fields, today=user_today(actor))
    _save_validated(pet)
    return pet


def pet_update(*, actor: User, pet: Pet, **fields: Any) -> Pet:
    """Change some fields of a pet (owner or caretaker)."""
    pet = selectors.pet_checked(user=actor, pet=pet, action=Action.WRITE)
    _pet_apply(pet, fields, today=user_today(actor))
    pet.revision += 1
    _save_validated(pet)
    return pet


def pet_delete(*, actor: User, pet: Pet) -> None:
    """Delete a pet with its records, notes and files (owner only).

    Every app that keeps something of a pet (photos here, attachments in health...) is asked
    for its stored files through the registry; they are removed after commit.
    """
    pet = selectors.pet_checked(user=actor, pet=pet, action=Action.PET_DELETE)
    with transaction.atomic():
        names = registry.deletion_files("pets", Pet.objects.filter(pk=pet.pk))
        # Grants name a pet by id only (accounts knows no pets): they go with it.
        Grant.objects.filter(household_id=pet.household_id, pet_id=pet.pk).delete()
        pet.delete()
        files_delete_on_commit(names)


# --- Contacts ------------------------------------------------------------------------------


def _contact_pets(contact: Contact, pet_ids: list[int] | None) -> None:
    if pet_ids is None:
        return
    pets = list(Pet.objects.filter(household=contact.household_id, pk__in=pet_ids))
    if len(pets) != len(set(pet_ids)):
        raise Invalid(_("Choose pets of this household."), field="pets")
    # The pets it leaves show it no more: their pages change too.
    before = set(contact.pets.values_list("pk", flat=True)) if contact.pk else set()
    contact.pets.set(pets)
    for pet_id in sorted(before | {pet.pk for pet in pets}):
        pet_revision_bump(pet_id)


def contact_create(
    *, actor: User, household: Household, pet_ids: list[int] | None = None, **fields: Any
) -> Contact:
    household_access(user=actor, household_id=household.pk, action=Action.WRITE)
    plain_lines(_only(fields, CONTACT_FIELDS), CONTACT_LINES)
    contact = Contact(household=household, **fields)
    with transaction.atomic():
        _save_validated(contact)
        _contact_pets(contact, pet_ids)
    return contact


def contact_update(
    *, actor: User, contact: Contact, pet_ids: list[int] | None = None, **fields: Any
) -> Contact:
    contact = selectors.contact_get(user=actor, contact_id=contact.pk, action=Action.WRITE)
    plain_lines(_only(fields, CONTACT_FIELDS), CONTACT_LINES)
    for name, value in fields.items():
        setattr(contact, name, value)
    with transaction.atomic():
        _save_validated(contact)
        _contact_pets(contact, pet_ids)
        for pet_id in contact.pets.values_list("pk", flat=True):
            pet_revision_bump(pet_id)
    return contact


def contact_delete(*, actor: User, contact: Contact) -> None:
    contact = selectors.contact_get(user=actor, contact_id=contact.pk, action=Action.WRITE)
    for pet_id in contact.pets.values_list("pk", flat=True):
        pet_revision_bump(pet_id)
    contact.delete()


# --- Notes ---------------------------------------------------------------------------------


def _note_apply(note: Note, fields: dict[str, Any]) -> None:
    plain_lines(_only(fields, NOTE_FIELDS), ("title",))
    for name, value in fields.items():
        if name == "body_html":
            value = html_sanitize(value or "")
            note.body_text = html_to_text(value)
        setattr(note, name, value)
    if not note.body_text.strip():
        raise Invalid(_("A note needs some text."), field="body_html")


def note_create(*, actor: User, pet: Pet, **fields: Any) -> Note:
    pet = selectors.pet_checked(user=actor, pet=pet, action=Action.WRITE)
    note = Note(pet=pet, author=actor)
    _note_apply(note, fields)
    _save_validated(note)
    pet_revision_bump(pet.pk)
    return note


def note_update(*, actor: User, note: Note, **fields: Any) -> Note:
    note = selectors.note_get(user=actor, note_id=note.pk, action=Action.WRITE)
    _note_apply(note, fields)
    _save_validated(note)
    pet_revision_bump(note.pet_id)
    return note


def note_delete(*, actor: User, note: Note) -> None:
    note = selectors.note_get(user=actor, note_id=note.pk, action=Action.WRITE)
    note.delete()
    pet_revision_bump(note.pet_id)
