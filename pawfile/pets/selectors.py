"""Reads for pets, contacts, notes and photos, from the acting user's point of view.

``pet_get`` is the gate every pet page and endpoint goes through: a pet outside the user's
households raises ``Http404``; a role too low for ``action`` raises ``PermissionDenied``.
"""

from __future__ import annotations

import uuid
from functools import cache

from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, Prefetch, Q, QuerySet
from django.http import Http404

from pawfile.accounts.models import Household, Membership, User
from pawfile.accounts.permissions import Action, role_allows
from pawfile.lib import sqlrows
from pawfile.pets.models import Contact, Note, Pet, Photo


def _check(role: str | None, action: Action) -> None:
    if role is None:
        raise Http404
    if not role_allows(role, action):
        raise PermissionDenied


def pet_list(*, user: User, household: Household | None = None) -> QuerySet[Pet]:
    """Pets in the user's households (optionally one household), each with ``role``."""
    if not user.is_authenticated:
        return Pet.objects.none()
    pets = Pet.objects.filter(household__memberships__user=user).annotate(
        role=F("household__memberships__role")
    )
    if household is not None:
        pets = pets.filter(household=household)
    return pets


def pet_get(*, user: User, pet_id: int, action: Action = Action.VIEW) -> Pet:
    """The pet if ``user`` may ``action`` it; see the module docstring for the errors.

    The pet comes with ``role`` (the user's role in its household) and its household loaded,
    from one hand-written SELECT (every pet page and endpoint passes here; see
    :mod:`pawfile.lib.sqlrows`).
    """
    if not user.is_authenticated or not sqlrows.is_id(pet_id):
        raise Http404
    pet_columns = sqlrows.columns(Pet, "p")
    household_columns = sqlrows.columns(Household, "h")
    found = sqlrows.fetch(_pet_get_sql(), [pet_id, user.pk])
    if not found:
        raise Http404
    row = found[0]
    split = len(pet_columns)
    _check(row[-1], action)
    pet = pet_columns.instance(row[:split])
    pet._state.fields_cache["household"] = household_columns.instance(row[split:-1])
    pet.role = row[-1]  # type: ignore[attr-defined]
    return pet  # type: ignore[return-value]


@cache
def _pet_get_sql() -> str:
    c, t = sqlrows.column, sqlrows.table
    pet, household = sqlrows.columns(Pet, "p").sql, sqlrows.columns(Household, "h").sql
    return (  # names are quoted by the connection, values are parameters
        f"SELECT {pet}, {household}, {c(Membership, 'role', 'm')} FROM {t(Pet)} p"  # noqa: S608
        f" INNER JOIN {t(Household)} h ON {c(Household, 'id', 'h')} = {c(Pet, 'household', 'p')}"
        f" INNER JOIN {t(Membership)} m"
        f" ON {c(Membership, 'household', 'm')} = {c(Pet, 'household', 'p')}"
        f" WHERE {c(Pet, 'id', 'p')} = %s AND {c(Membership, 'user', 'm')} = %s"
    )


def pet_rows(
    *,
    user: User,
    limit: int,
    household_id: int | None = None,
    query: str = "",
    after: tuple[str, int] | None = None,
) -> list[dict[str, object]]:
    """Up to ``limit`` of the user's pets, by name then id, as dicts of every ``Pet`` column
    plus ``role``: only those of ``household_id`` if given, those whose name, breed or
    microchip contains ``query`` (case-insensitive), those after ``(name, id)`` ``after``.

    The same rows as ``pet_search(...).order_by("name", "id")``, from one hand-written
    SELECT: this is the API's pet list (see :mod:`pawfile.lib.sqlrows`).
    """
    if not user.is_authenticated:
        return []
    pets = sqlrows.columns(Pet, "p")
    name, pk = sqlrows.column(Pet, "name", "p"), sqlrows.column(Pet, "id", "p")
    where = [f"{sqlrows.column(Membership, 'user', 'm')} = %s"]
    params: list[object] = [user.pk]
    if household_id is not None:
        where.append(f"{sqlrows.column(Pet, 'household', 'p')} = %s")
        params.append(household_id)
    query = query.strip()
    if query:
        searched = [sqlrows.column(Pet, f, "p") for f in ("name", "breed", "microchip")]
        where.append(
            "(" + " OR ".join(f"UPPER({c}) LIKE UPPER(%s) ESCAPE '\\'" for c in searched) + ")"
        )
        params += [sqlrows.like_contains(query)] * len(searched)
    if after is not None:
        where.append(f"({name} > %s OR ({name} = %s AND {pk} > %s))")
        params += [after[0], after[0], after[1]]
    c, t = sqlrows.column, sqlrows.table
    sql = (  # names are quoted by the connection, values are parameters
        f"SELECT {pets.sql}, {c(Membership, 'role', 'm')} FROM {t(Pet)} p"  # noqa: S608
        f" INNER JOIN {t(Membership)} m"
        f" ON {c(Membership, 'household', 'm')} = {c(Pet, 'household', 'p')}"
        f" WHERE {' AND '.join(where)} ORDER BY {name} ASC, {pk} ASC LIMIT %s"
    )
    params.append(limit)
    split, connection = len(pets), connections[DEFAULT_DB_ALIAS]
    return [
        pets.as_dict(row[:split], connection) | {"role": row[split]}
        for row in sqlrows.fetch(sql, params)
    ]


def pet_search(*, user: User, query: str) -> QuerySet[Pet]:
    """Pets whose name, breed or microchip contains ``query``."""
    query = query.strip()
    pets = pet_list(user=user)
    if not query:
        return pets
    return pets.filter(
        Q(name__icontains=query) | Q(breed__icontains=query) | Q(microchip__icontains=query)
    )


def pets_with_primary_photo(pets: QuerySet[Pet]) -> QuerySet[Pet]:
    """``pets`` with ``primary_photos`` (a list of zero or one photo) prefetched on each."""
    return pets.prefetch_related(
        Prefetch("photos", queryset=Photo.objects.filter(is_primary=True), to_attr="primary_photos")
    )


def household_role(*, user: User, household_id: int) -> str | None:
    if not user.is_authenticated:
        return None
    return (
        Household.objects.filter(pk=household_id, memberships__user=user)
        .values_list("memberships__role", flat=True)
        .first()
    )


def household_list_with_role(*, user: User) -> QuerySet[Household]:
    """The user's households, oldest membership first, each with the user's ``role``."""
    if not user.is_authenticated:
        return Household.objects.none()
    return (
        Household.objects.filter(memberships__user=user)
        .annotate(role=F("memberships__role"))
        .order_by("memberships__joined_at", "pk")
    )


def household_require(*, user: User, household_id: int, action: Action) -> str:
    """The user's role in the household if it allows ``action``; 404 / 403 otherwise."""
    role = household_role(user=user, household_id=household_id)
    _check(role, action)
    assert role is not None
    return role


def household_get(*, user: User, household_id: int, action: Action = Action.VIEW) -> Household:
    """The household if ``user`` may ``action`` in it, with ``current_role`` set on it."""
    role = household_require(user=user, household_id=household_id, action=action)
    household = Household.objects.get(pk=household_id)
    household.current_role = role  # type: ignore[attr-defined]
    return household


def contact_list(*, user: User, household_id: int, pet_id: int | None = None) -> QuerySet[Contact]:
    """The household's contacts in their order (only those linked to ``pet_id`` if given)."""
    household_require(user=user, household_id=household_id, action=Action.VIEW)
    contacts = Contact.objects.filter(household_id=household_id).prefetch_related("pets")
    if pet_id is not None:
        contacts = contacts.filter(pets=pet_id)
    return contacts


def contact_get(*, user: User, contact_id: int, action: Action = Action.VIEW) -> Contact:
    contact = (
        Contact.objects.filter(pk=contact_id, household__memberships__user=user)
        .annotate(role=F("household__memberships__role"))
        .first()
        if user.is_authenticated
        else None
    )
    _check(getattr(contact, "role", None), action)
    assert contact is not None
    return contact


def note_list(*, user: User, pet: Pet, query: str = "") -> QuerySet[Note]:
    """Notes of a pet the user may see, pinned first; ``query`` searches title and text."""
    pet_get(user=user, pet_id=pet.pk)
    notes = Note.objects.filter(pet=pet).select_related("author")
    query = query.strip()
    if query:
        notes = notes.filter(Q(title__icontains=query) | Q(body_text__icontains=query))
    return notes


def note_get(*, user: User, note_id: int, action: Action = Action.VIEW) -> Note:
    note = Note.objects.filter(pk=note_id).select_related("pet").first()
    if note is None:
        raise Http404
    pet_get(user=user, pet_id=note.pet_id, action=action)
    return note


def photo_get(*, user: User, photo_id: int, action: Action = Action.VIEW) -> Photo:
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:
        raise Http404
    pet_get(user=user, pet_id=photo.pet_id, action=action)
    return photo


def photo_list(*, user: User, pet: Pet) -> QuerySet[Photo]:
    """Photos of a pet the user may see, primary first, then newest."""
    pet_get(user=user, pet_id=pet.pk)
    return Photo.objects.filter(pet=pet)


def photo_get_by_key(*, user: User, key: uuid.UUID) -> Photo:
    """The photo with ``key`` if the user may see its pet (``Http404`` otherwise)."""
    photo = Photo.objects.filter(key=key).first()
    if photo is None:
        raise Http404
    pet_get(user=user, pet_id=photo.pet_id)
    return photo
