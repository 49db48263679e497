"""Everything a public page shows, read in one hand-written query.

``public_pet_fetch(slug, today)`` answers what ``selectors.public_pet`` answers through the
ORM (five queries: the profile with its pet, the photo, the contacts, the care records),
with one statement and no QuerySet to compile: a ``UNION ALL`` of four branches, each
filling its own columns of one wide row and leaving the others ``NULL`` (cast to the
column's type, so PostgreSQL matches the branches):

0. the profile and its pet (found by the slug; no row: unknown slug);
1. the primary photo, only when the page shows the photo;
2. the contacts ticked "show on the public page", only in the ``shown`` contact mode;
3. the allergy records when the page shows allergies, the medications current on ``today``
   when it shows medication (what ``care_records_split`` keeps of them).

Only the columns the page may show are read (the fields of ``selectors``' ``ProfileRow``,
``PetRow``, ...; plus the revisions for the cache key and what orders contacts and records),
converted as the ORM would convert them (``lib.sqlrows``: the backend's and the field's
converters) into those plain rows, not model instances (building six instances was a fifth
of a fresh draw). ``selectors.public_pet_build`` copies what the switches allow, the one
function both paths share. ``tests/lostpet/test_public_fast.py`` compares the two answers on
a pet with every field filled. Names are quoted by the connection; the slug, the choices and
the date travel as parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, fields
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
from pawfile.lostpet.selectors import (
    ContactRow,
    PetRow,
    PhotoRow,
    ProfileRow,
    PublicPet,
    RecordRow,
    public_pet_build,
    slug_valid,
)
from pawfile.pets.models import Contact, Pet, Photo

Stamp = tuple[int, int, int]  # profile id, profile revision, pet revision (the cache key's)
Row = tuple[Any, ...]


def _date(value: Any) -> Any:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _bool(value: Any) -> Any:
    return value if value is None else bool(value)


# SQLite gives a date or a boolean typed by its column's declared type, which the columns of
# a UNION's later branches lack (the first branch's CAST(NULL ...) declares none): there the
# ISO text or the 0/1 is read here, whatever converters the column has (a no-op otherwise).
LOOSE = {"DateField": _date, "BooleanField": _bool}


@dataclass(frozen=True)
class _Slice:
    """One model's columns in the wide row: ``keys`` first (the stamp, or what orders the
    rows), then the fields of ``row`` (a ``selectors`` row class), in its order."""

    columns: sqlrows.Columns
    keys: int
    row: type
    loose: tuple[tuple[int, Callable[[Any], Any]], ...]  # (index, LOOSE's reader)

    def split(self, values: Row, connection: Any) -> tuple[Row, Any]:
        converted = self.columns.convert(values, connection)
        for index, read in self.loose:
            converted[index] = read(converted[index])
        return tuple(converted[: self.keys]), self.row(*converted[self.keys :])


@dataclass(frozen=True)
class _Plan:
    sql: str
    slices: tuple[tuple[int, _Slice], ...]  # (first column of the slice, the slice)


def _slice(model: type[Model], alias: str, keys: tuple[str, ...], row: type, db: str) -> _Slice:
    names = (*keys, *(f.name for f in fields(row)))
    kinds = [model._meta.get_field(name).get_internal_type() for name in names]
    loose = tuple((n, LOOSE[kind]) for n, kind in enumerate(kinds) if kind in LOOSE)
    columns = sqlrows.columns(model, alias, names, db)
    return _Slice(columns=columns, keys=len(keys), row=row, loose=loose)


def _nulls(part: _Slice, db: str) -> str:
    connection = connections[db]
    meta = part.columns.model._meta
    by_attname = {f.attname: f for f in meta.concrete_fields}
    types = [by_attname[attname].db_type(connection) for attname in part.columns.attnames]
    return ", ".join(f"CAST(NULL AS {kind})" for kind in types)


@cache
def _plan(db: str = DEFAULT_DB_ALIAS) -> _Plan:
    profile = _slice(PublicProfile, "p", ("id", "revision"), ProfileRow, db)
    pet = _slice(Pet, "t", ("revision",), PetRow, db)
    photo = _slice(Photo, "f", (), PhotoRow, db)
    contact = _slice(Contact, "c", ("order", "id"), ContactRow, db)
    record = _slice(HealthRecord, "h", ("id",), RecordRow, db)
    slices: list[_Slice] = [profile, pet, photo, contact, record]

    def select(marker: int, *filled: _Slice) -> str:
        # PostgreSQL types a UNION's columns pair by pair from the left: the first branch's
        # NULLs carry their column's type, the later branches' plain NULLs take it from there.
        parts = [str(marker)]
        for part in slices:
            if part in filled:
                parts.append(part.columns.sql)
            else:
                parts.append(
                    _nulls(part, db) if marker == 0 else ", ".join(["NULL"] * len(part.columns))
                )
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
    kind, end = col(HealthRecord, "kind", "h"), col(HealthRecord, "end_date", "h")
    sql = " UNION ALL ".join(
        [  # names quoted by the connection; the slug, the choices and the date are parameters
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
            f" WHERE {by_slug} AND (({kind} = %s AND {col(PublicProfile, 'show_allergies', 'p')})"
            f" OR ({kind} = %s AND {col(PublicProfile, 'show_medication', 'p')}"
            f" AND {col(HealthRecord, 'date', 'h')} <= %s AND ({end} IS NULL OR {end} >= %s)))",
        ]
    )
    starts, at = [], 1
    for part in slices:
        starts.append((at, part))
        at += len(part.columns)
    return _Plan(sql=sql, slices=tuple(starts))


def _read(rows: list[Row], plan: _Plan, db: str) -> dict[int, list[tuple[Row, Any]]]:
    """Each slice's ``(keys, row)`` per row, by slice (0 profile, 1 pet, 2 photo, 3 contact,
    4 record); a row of branch 0 fills slices 0 and 1, one of branch ``n`` slice ``n + 1``."""
    connection = connections[db]
    found: dict[int, list[tuple[Row, Any]]] = {n: [] for n in range(len(plan.slices))}
    for row in rows:
        branch = int(row[0])
        for n in (0, 1) if branch == 0 else (branch + 1,):
            start, part = plan.slices[n]
            found[n].append(part.split(row[start : start + len(part.columns)], connection))
    return found


def public_pet_fetch(slug: str, *, today: dt.date) -> tuple[Stamp, PublicPet] | None:
    """The page ``slug``'s cache stamp and ``PublicPet`` on ``today``, in one query;
    ``None`` for a slug that is malformed or names no page. No access check: public."""
    if not slug_valid(slug):
        return None
    db = DEFAULT_DB_ALIAS
    plan = _plan(db)
    params: list[Any] = [slug, slug, slug, ContactMode.SHOWN.value, slug, Kind.ALLERGY.value]
    params += [Kind.MEDICATION.value, today, today]
    found = _read(sqlrows.fetch(plan.sql, params, db), plan, db)
    if not found[0]:
        return None
    ((profile_id, profile_revision), profile), ((pet_revision,), pet) = found[0][0], found[1][0]
    photos = [photo for _keys, photo in found[2]]
    contacts = [contact for _keys, contact in sorted(found[3], key=lambda c: c[0])]
    records = sorted(found[4], key=lambda r: (r[1].date, r[0][0]), reverse=True)
    public = public_pet_build(
        profile=profile,
        pet=pet,
        photo=photos[0] if photos else None,
        contacts=contacts,
        care=care_records_split((record for _keys, record in records), today=today),
    )
    return (int(profile_id), int(profile_revision), int(pet_revision)), public
