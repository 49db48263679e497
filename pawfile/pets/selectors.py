"""Reads for pets, contacts, notes and photos, from the acting user's point of view.

``pet_get`` is the gate every pet page and endpoint goes through; the answer is the access
rule's (``pawfile.accounts.access``): ``NotFound`` for anyone the pet is hidden from,
``Forbidden`` when the role or grant does not allow ``action``. The pet it returns carries
that decision, so the reads that take the pet afterwards (its notes, photos, records, the
contacts for it) trust it for the same user instead of asking again (``pet_checked``):
the gate runs once per page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, FilteredRelation, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pawfile.accounts.access import (
    Access,
    Action,
    access_attach,
    access_decide,
    access_of,
    household_access,
)
from pawfile.accounts.models import Grant, Household, Membership, User
from pawfile.lib import sqlrows
from pawfile.lib.errors import NotFound
from pawfile.pets.models import Contact, Note, Pet, Photo


def pet_list(*, user: User, household: Household | None = None) -> QuerySet[Pet]:
    """Pets in the user's households (optionally one household), each with ``role``
    (memberships only: a grant opens a pet through ``pet_get``, not in lists)."""
    if not user.is_authenticated:
        return Pet.objects.none()
    pets = Pet.objects.filter(household__memberships__user=user).annotate(
        role=F("household__memberships__role")
    )
    if household is not None:
        pets = pets.filter(household=household)
    return pets


def _pet_with_access(pet: Pet, access: Access) -> Pet:
    access_attach(pet, access)
    pet.role = access.role or ""  # type: ignore[attr-defined]  # the API's PetOut.role
    return pet


def pet_get(
    *, user: User, pet_id: int, action: Action = Action.VIEW, now: dt.datetime | None = None
) -> Pet:
    """The pet if ``user`` may ``action`` it (at ``now``), with its household loaded and the
    decision attached (``access_of(pet)``; ``pet.role`` is the user's role, ``""`` when only
    a grant opens it). Raises ``NotFound`` or ``Forbidden`` (see the module docstring).

    One hand-written SELECT (see :mod:`pawfile.lib.sqlrows`): the pet, its household, the
    user's membership and live grants. ``pet_get_orm`` is the same answer through the ORM;
    ``tests/pets/test_pet_gate.py`` compares the two for every subject and action.
    """
    if not user.is_authenticated or not sqlrows.is_id(pet_id):
        raise NotFound(_("Not found."))
    if not sqlrows.HAND_WRITTEN:  # the benchmark switch (bench/api.py --orm)
        return pet_get_orm(user=user, pet_id=pet_id, action=action, now=now)
    connection = connections[DEFAULT_DB_ALIAS]
    moment = connection.ops.adapt_datetimefield_value(now or timezone.now())
    rows = sqlrows.fetch(_pet_get_sql(), [user.pk, user.pk, moment, moment, pet_id])
    if not rows:
        raise NotFound(_("Not found."))
    pet_columns = sqlrows.columns(Pet, "p")
    household_columns = sqlrows.columns(Household, "h")
    split, end = len(pet_columns), len(pet_columns) + len(household_columns)
    row = rows[0]
    pet: Pet = pet_columns.instance(row[:split], connection)  # type: ignore[assignment]
    access = access_decide(
        user_id=user.pk,
        household_id=pet.household_id,
        pet_id=pet.pk,
        role=row[end],
        grants=[found[end + 1] for found in rows],
        action=action,
    )
    pet.household = household_columns.instance(row[split:end], connection)  # type: ignore[assignment]
    return _pet_with_access(pet, access)


@cache
def _pet_get_sql() -> str:
    c, t = sqlrows.column, sqlrows.table
    pet, household = sqlrows.columns(Pet, "p").sql, sqlrows.columns(Household, "h").sql
    pet_household, grant_pet = c(Pet, "household", "p"), c(Grant, "pet_id", "g")
    return (  # names are quoted by the connection, values are parameters
        f"SELECT {pet}, {household}, {c(Membership, 'role', 'm')}, {c(Grant, 'actions', 'g')}"  # noqa: S608
        f" FROM {t(Pet)} p"
        f" INNER JOIN {t(Household)} h ON {c(Household, 'id', 'h')} = {pet_household}"
        f" LEFT JOIN {t(Membership)} m ON {c(Membership, 'household', 'm')} = {pet_household}"
        f" AND {c(Membership, 'user', 'm')} = %s"
        f" LEFT JOIN {t(Grant)} g ON {c(Grant, 'household', 'g')} = {pet_household}"
        f" AND {c(Grant, 'user', 'g')} = %s"
        f" AND ({grant_pet} IS NULL OR {grant_pet} = {c(Pet, 'id', 'p')})"
        f" AND {c(Grant, 'starts_at', 'g')} <= %s AND {c(Grant, 'ends_at', 'g')} > %s"
        f" WHERE {c(Pet, 'id', 'p')} = %s"
    )


def pet_get_orm(
    *, user: User, pet_id: int, action: Action = Action.VIEW, now: dt.datetime | None = None
) -> Pet:
    """``pet_get`` through the ORM, one query of the same shape: the reference the
    hand-written SELECT is tested against, and what ``bench/access.py`` times it against."""
    if not user.is_authenticated:
        raise NotFound(_("Not found."))
    now = now or timezone.now()
    grant = "household__grants__"
    rows = list(
        Pet.objects.select_related("household")
        .filter(pk=pet_id)
        .annotate(
            member=FilteredRelation(
                "household__memberships", condition=Q(household__memberships__user=user)
            ),
            live=FilteredRelation(
                "household__grants",
                condition=Q(**{f"{grant}user": user, f"{grant}starts_at__lte": now})
                & Q(**{f"{grant}ends_at__gt": now})
                & (Q(**{f"{grant}pet_id__isnull": True}) | Q(**{f"{grant}pet_id": F("pk")})),
            ),
            member_role=F("member__role"),
            grant_actions=F("live__actions"),
        )
    )
    if not rows:
        raise NotFound(_("Not found."))
    pet = rows[0]
    access = access_decide(
        user_id=user.pk,
        household_id=pet.household_id,
        pet_id=pet.pk,
        role=pet.member_role,
        grants=[found.grant_actions for found in rows],
        action=action,
    )
    return _pet_with_access(pet, access)


def pet_checked(*, user: User, pet: Pet, action: Action = Action.VIEW) -> Pet:
    """``pet`` as the gate returned it for ``user``, checked for ``action`` without a query;
    any other pet (another user's decision, or none) goes through ``pet_get``.

    Raises what ``pet_get`` raises."""
    access = access_of(pet)
    if access is not None and access.covers(user=user, pet_id=pet.pk):
        access.require(action)
        return pet
    return pet_get(user=user, pet_id=pet.pk, action=action)


def pet_rows(
    *,
    user: User,
    limit: int,
    household_id: int | None = None,
    query: str = "",
    after: tuple[str, int] | None = None,
    fields: tuple[str, ...] | None = None,
) -> list[dict[str, object]]:
    """Up to ``limit`` of the user's pets, by name then id, as dicts of every ``Pet`` column
    plus ``role``: only those of ``household_id`` if given, those whose name, breed or
    microchip contains ``query`` (case-insensitive), those after ``(name, id)`` ``after``.

    ``fields`` (``Pet`` attribute names and ``role``) makes each dict hold only those keys,
    in that order, read as they are (the API writes such rows to JSON as they come).

    The same rows as ``pet_search(...).order_by("name", "id")``, from one hand-written
    SELECT: this is the API's pet list (see :mod:`pawfile.lib.sqlrows`).
    """
    if not user.is_authenticated:
        return []
    if not sqlrows.HAND_WRITTEN:  # the benchmark switch (bench/api.py --orm)
        found = _pet_rows_orm(
            user=user, limit=limit, household_id=household_id, query=query, after=after
        )
        return found if fields is None else [{n: row[n] for n in fields} for row in found]
    names, select, converters = _pet_rows_shape(fields)
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
        f"SELECT {select} FROM {t(Pet)} p"  # noqa: S608
        f" INNER JOIN {t(Membership)} m"
        f" ON {c(Membership, 'household', 'm')} = {c(Pet, 'household', 'p')}"
        f" WHERE {' AND '.join(where)} ORDER BY {name} ASC, {pk} ASC LIMIT %s"
    )
    params.append(limit)
    connection = connections[DEFAULT_DB_ALIAS]
    return sqlrows.converted_dicts(sqlrows.fetch(sql, params), names, converters, connection)


@cache
def _pet_rows_shape(
    fields: tuple[str, ...] | None,
) -> tuple[tuple[str, ...], str, tuple[tuple[int, tuple[sqlrows.Converter, ...], object], ...]]:
    """``pet_rows``' keys, SELECT list and converters (``sqlrows.Columns``', at their
    place among the selected columns) for ``fields`` (``None``: every column, then role)."""
    pet_fields = tuple(f.attname for f in Pet._meta.concrete_fields)
    names = fields if fields is not None else (*pet_fields, "role")
    pets = sqlrows.columns(Pet, "p", tuple(n for n in names if n != "role"))
    places = [i for i, n in enumerate(names) if n != "role"]
    role = sqlrows.column(Membership, "role", "m")
    select = ", ".join(role if n == "role" else sqlrows.column(Pet, n, "p") for n in names)
    converters = tuple((places[i], functions, expr) for i, functions, expr in pets.converters)
    return names, select, converters


def _pet_rows_orm(
    *,
    user: User,
    limit: int,
    household_id: int | None,
    query: str,
    after: tuple[str, int] | None,
) -> list[dict[str, object]]:
    """``pet_rows`` through the ORM: what the hand-written SELECT replaces."""
    pets = pet_search(user=user, query=query)
    if household_id is not None:
        pets = pets.filter(household_id=household_id)
    if after is not None:
        pets = pets.filter(Q(name__gt=after[0]) | Q(name=after[0], pk__gt=after[1]))
    columns = [field.attname for field in Pet._meta.concrete_fields]
    return list(pets.order_by("name", "id").values(*columns, "role")[:limit])


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


def contact_list(*, user: User, household_id: int) -> QuerySet[Contact]:
    """The household's contacts in their order (``NotFound`` / ``Forbidden`` as the access
    rule says for the household as a whole)."""
    household_access(user=user, household_id=household_id, action=Action.VIEW)
    return Contact.objects.filter(household_id=household_id).prefetch_related("pets")


def contact_list_for_pet(*, user: User, pet: Pet) -> QuerySet[Contact]:
    """The household's contacts linked to ``pet``, in their order: part of what anyone who
    may see the pet sees (``pet_checked``: no query for a pet from the gate)."""
    pet_checked(user=user, pet=pet)
    return Contact.objects.filter(household_id=pet.household_id, pets=pet).prefetch_related("pets")


def contact_get(*, user: User, contact_id: int, action: Action = Action.VIEW) -> Contact:
    """The contact if ``user`` may ``action`` the household's contacts (``NotFound`` for a
    contact that does not exist or is hidden from them, ``Forbidden`` for a role too low)."""
    contact = Contact.objects.filter(pk=contact_id).first() if sqlrows.is_id(contact_id) else None
    if contact is None:
        raise NotFound(_("Not found."))
    household_access(user=user, household_id=contact.household_id, action=action)
    return contact


def note_list(*, user: User, pet: Pet, query: str = "") -> QuerySet[Note]:
    """Notes of a pet the user may see, pinned first; ``query`` searches title and text."""
    pet_checked(user=user, pet=pet)
    notes = Note.objects.filter(pet=pet).select_related("author")
    query = query.strip()
    if query:
        notes = notes.filter(Q(title__icontains=query) | Q(body_text__icontains=query))
    return notes


def note_get(*, user: User, note_id: int, action: Action = Action.VIEW) -> Note:
    """The note, with its pet as the gate returns it, if ``user`` may ``action`` that pet."""
    note = Note.objects.filter(pk=note_id).first() if sqlrows.is_id(note_id) else None
    if note is None:
        raise NotFound(_("Not found."))
    note.pet = pet_get(user=user, pet_id=note.pet_id, action=action)
    return note


def photo_get(*, user: User, photo_id: int, action: Action = Action.VIEW) -> Photo:
    """The photo, with its pet as the gate returns it, if ``user`` may ``action`` that pet."""
    photo = Photo.objects.filter(pk=photo_id).first() if sqlrows.is_id(photo_id) else None
    if photo is None:
        raise NotFound(_("Not found."))
    photo.pet = pet_get(user=user, pet_id=photo.pet_id, action=action)
    return photo


def photo_list(*, user: User, pet: Pet) -> QuerySet[Photo]:
    """Photos of a pet the user may see, primary first, then newest."""
    pet_checked(user=user, pet=pet)
    return Photo.objects.filter(pet=pet)


def photo_get_by_key(*, user: User, key: uuid.UUID) -> Photo:
    """The photo with ``key`` if the user may see its pet (``NotFound`` otherwise)."""
    photo = Photo.objects.filter(key=key).first()
    if photo is None:
        raise NotFound(_("Not found."))
    photo.pet = pet_get(user=user, pet_id=photo.pet_id)
    return photo
