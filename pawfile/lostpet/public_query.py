"""Everything a public page shows, read in one hand-written query.

``public_pet_fetch(slug, today)`` answers what ``selectors.public_pet`` answers through the
ORM (five queries: the profile with its pet, the photo, the contacts, the care records),
with one statement and no QuerySet to compile: a ``UNION ALL`` of four branches, each
filling its own columns of one wide row and leaving the others ``NULL`` (cast to the
column's type, so PostgreSQL matches the branches):

0. the profile and its pet (found by the slug; no row: unknown slug);
1. the primary photo, only when the page shows the photo;
2. the contacts ticked "show on the public page", only in the ``shown`` contact mode;
3. the allergy and medication records, only when the page shows allergies or medication.

Each slice is turned into a model instance as the ORM would build it (``lib.sqlrows``:
the backend's and the field's converters), and ``selectors.public_pet_build`` copies what
the switches allow, the one function both paths share. ``tests/lostpet/test_public_page.py``
compares the two answers on a pet with every field filled. Names are quoted by the
connection; the slug and the choices travel as parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

from pawfile.health.choices import Kind
from pawfile.health.models import HealthRecord
from pawfile.health.selectors import care_records_split
from pawfile.lib import sqlrows
from pawfile.lostpet.choices import ContactMode
from pawfile.lostpet.models import PublicProfile
from pawfile.lostpet.selectors import PublicPet, public_pet_build, slug_valid
from pawfile.pets.models import Contact, Pet, Photo

Stamp = tuple[int, int, int]  # profile id, profile revision, pet revision (the cache key's)

PROFILE_FIELDS = (
    "id", "pet", "slug", "show_photo", "show_species", "show_sex", "show_age",
    "show_allergies", "show_medication", "show_special_needs", "contact_mode",
    "public_message", "is_lost", "last_seen_at", "last_seen_place", "reward",
    "lost_message", "revision",
)  # fmt: skip
PET_FIELDS = (
    "id", "name", "species", "breed", "sex", "birth_date", "birth_date_estimated",
    "allergies", "special_needs", "revision",
)  # fmt: skip
PHOTO_FIELDS = ("id", "pet", "key", "is_primary")
CONTACT_FIELDS = ("id", "name", "phone", "whatsapp", "email", "order")
RECORD_FIELDS = ("id", "pet", "kind", "date", "end_date", "name", "dose", "frequency")


@dataclass(frozen=True)
class _Plan:
    sql: str
    parts: tuple[tuple[int, sqlrows.Columns], ...]  # (first column of the slice, its columns)


def _nulls(columns: sqlrows.Columns, db: str) -> str:
    connection = connections[db]
    meta = columns.model._meta
    types = [meta.get_field(name).db_type(connection) for name in _names(columns)]
    return ", ".join(f"CAST(NULL AS {kind})" for kind in types)


def _names(columns: sqlrows.Columns) -> list[str]:
    by_attname = {f.attname: f.name for f in columns.model._meta.concrete_fields}
    return [by_attname[attname] for attname in columns.attnames]


def _columns(model: type[Model], alias: str, fields: tuple[str, ...], db: str) -> sqlrows.Columns:
    """``fields`` of ``model`` in the model's own order (``Model.from_db`` expects it)."""
    ordered = tuple(f.name for f in model._meta.concrete_fields if f.name in fields)
    assert len(ordered) == len(fields), f"unknown fields of {model.__name__}"
    return sqlrows.columns(model, alias, ordered, db)


@cache
def _plan(db: str = DEFAULT_DB_ALIAS) -> _Plan:
    profile = _columns(PublicProfile, "p", PROFILE_FIELDS, db)
    pet = _columns(Pet, "t", PET_FIELDS, db)
    photo = _columns(Photo, "f", PHOTO_FIELDS, db)
    contact = _columns(Contact, "c", CONTACT_FIELDS, db)
    record = _columns(HealthRecord, "h", RECORD_FIELDS, db)
    slices: list[sqlrows.Columns] = [profile, pet, photo, contact, record]

    def select(marker: int, *filled: sqlrows.Columns) -> str:
        parts = [str(marker)]
        for columns in slices:
            parts.append(columns.sql if columns in filled else _nulls(columns, db))
        return "SELECT " + ", ".join(parts)

    def col(model: type[Model], field: str, alias: str) -> str:
        return sqlrows.column(model, field, alias, db)

    quote = connections[db].ops.quote_name
    through = Contact.pets.through._meta
    link = f"{quote(through.db_table)} m"
    link_contact = f"m.{quote(str(through.get_field('contact').column))}"
    link_pet = f"m.{quote(str(through.get_field('pet').column))}"
    profile_table = f"{sqlrows.table(PublicProfile, db)} p"
    by_slug = f"{col(PublicProfile, 'slug', 'p')} = %s"
    profile_pet = col(PublicProfile, "pet", "p")
    sql = " UNION ALL ".join(
        [  # names quoted by the connection; the slug and the choices are parameters
            f"{select(0, profile, pet)} FROM {profile_table}"
            f" JOIN {sqlrows.table(Pet, db)} t ON {col(Pet, 'id', 't')} = {profile_pet}"
            f" WHERE {by_slug}",
            f"{select(1, photo)} FROM {sqlrows.table(Photo, db)} f"
            f" JOIN {profile_table} ON {col(Photo, 'pet', 'f')} = {profile_pet}"
            f" WHERE {by_slug} AND {col(PublicProfile, 'show_photo', 'p')}"
            f" AND {col(Photo, 'is_primary', 'f')}",
            f"{select(2, contact)} FROM {sqlrows.table(Contact, db)} c"
            f" JOIN {link} ON {link_contact} = {col(Contact, 'id', 'c')}"
            f" JOIN {profile_table} ON {profile_pet} = {link_pet}"
            f" WHERE {by_slug} AND {col(PublicProfile, 'contact_mode', 'p')} = %s"
            f" AND {col(Contact, 'show_on_public_page', 'c')}",
            f"{select(3, record)} FROM {sqlrows.table(HealthRecord, db)} h"
            f" JOIN {profile_table} ON {col(HealthRecord, 'pet', 'h')} = {profile_pet}"
            f" WHERE {by_slug} AND ({col(PublicProfile, 'show_allergies', 'p')}"
            f" OR {col(PublicProfile, 'show_medication', 'p')})"
            f" AND {col(HealthRecord, 'kind', 'h')} IN (%s, %s)",
        ]
    )
    starts, at = [], 1
    for columns in slices:
        starts.append((at, columns))
        at += len(columns)
    return _Plan(sql=sql, parts=tuple(starts))


@cache
def _date_attnames(model: type[Model]) -> tuple[str, ...]:
    return tuple(
        f.attname for f in model._meta.concrete_fields if f.get_internal_type() == "DateField"
    )


def _instances(rows: list[tuple[Any, ...]], plan: _Plan, db: str) -> dict[int, list[Model]]:
    connection = connections[db]
    profile, pet, photo, contact, record = plan.parts
    wanted = {0: (profile, pet), 1: (photo,), 2: (contact,), 3: (record,)}
    found: dict[int, list[Model]] = {0: [], 1: [], 2: [], 3: []}
    for row in rows:
        for start, columns in wanted[int(row[0])]:
            instance = columns.instance(row[start : start + len(columns)], connection)
            # SQLite converts a date by its column's declared type, which a UNION's later
            # branches lose (the first branch's NULL has none): the ISO text is read here.
            for attname in _date_attnames(columns.model):
                value = instance.__dict__.get(attname)
                if isinstance(value, str):
                    setattr(instance, attname, dt.date.fromisoformat(value))
            found[int(row[0])].append(instance)
    return found


def public_pet_fetch(slug: str, *, today: dt.date) -> tuple[Stamp, PublicPet] | None:
    """The page ``slug``'s cache stamp and ``PublicPet`` on ``today``, in one query;
    ``None`` for a slug that is malformed or names no page. No access check: public."""
    if not slug_valid(slug):
        return None
    db = DEFAULT_DB_ALIAS
    plan = _plan(db)
    params = [slug, slug, slug, ContactMode.SHOWN.value, slug, Kind.MEDICATION.value]
    params.append(Kind.ALLERGY.value)
    rows = sqlrows.fetch(plan.sql, params, db)
    found = _instances(rows, plan, db)
    if not found[0]:
        return None
    profile, pet = found[0]
    assert isinstance(profile, PublicProfile) and isinstance(pet, Pet)
    photos = [p for p in found[1] if isinstance(p, Photo)]
    contacts = sorted(
        (c for c in found[2] if isinstance(c, Contact)), key=lambda c: (c.order, c.pk)
    )
    records = sorted(
        (r for r in found[3] if isinstance(r, HealthRecord)),
        key=lambda r: (r.date, r.pk),
        reverse=True,
    )
    public = public_pet_build(
        profile=profile,
        pet=pet,
        photo=photos[0] if photos else None,
        contacts=contacts,
        care=care_records_split(records, today=today),
    )
    return (int(profile.pk), int(profile.revision), int(pet.revision)), public
