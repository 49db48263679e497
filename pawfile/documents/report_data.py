"""What the health report shows, gathered and formatted for the Typst template.

``report_data`` reads a pet's records through the selectors and returns a JSON-ready dict
(the shape ``typst/health_report.typ`` reads) plus the bytes of the primary photo. Dates
and numbers are formatted here for the report's language, so the template only lays out;
codes (species, sex, due status...) stay codes and the template words them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.files.storage import default_storage

from pawfile.accounts.choices import Role
from pawfile.accounts.models import Membership, User
from pawfile.accounts.selectors import member_list
from pawfile.health.choices import Kind
from pawfile.health.models import HealthRecord
from pawfile.health.selectors import due_items_by_pet, record_list
from pawfile.health.status import DueItem
from pawfile.lib import dates
from pawfile.pets.choices import PhotoVariant, WeightUnit
from pawfile.pets.models import Pet, Photo
from pawfile.pets.selectors import contact_list

log = logging.getLogger(__name__)

DECIMAL_SEP = {"en": ".", "es": ","}
GRAMS_PER: dict[str, Decimal] = {WeightUnit.KG: Decimal(1000), WeightUnit.LB: Decimal("453.59237")}
RECENT_VISITS = 5
MAX_WEIGHT_POINTS = 120  # the chart shows the latest ones; more would only blur the line


@dataclass(frozen=True)
class ReportInput:
    """The template's data and the primary photo (card variant, JPEG), if the pet has one."""

    data: dict[str, Any]
    photo: bytes | None


def date_text(day: dt.date | None, lang: str) -> str | None:
    """``day`` in the one date format of ``lang`` (``lib.dates.date_text``); ``None`` stays."""
    return None if day is None else dates.date_text(day, language=lang)


def weight_value(grams: int, unit: str) -> Decimal:
    """Grams in ``unit``, rounded sensibly for a small or a big animal."""
    value = Decimal(grams) / GRAMS_PER.get(unit, GRAMS_PER[WeightUnit.KG])
    places = 3 if value < 1 else 2 if value < 10 else 1
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def number_text(value: Decimal, lang: str) -> str:
    """``value`` without trailing zeros and with the language's decimal separator."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", DECIMAL_SEP[lang])


def pet_age(birth: dt.date | None, today: dt.date) -> dict[str, int] | None:
    """Whole years and months between ``birth`` and ``today``."""
    if birth is None or birth > today:
        return None
    months = (today.year - birth.year) * 12 + today.month - birth.month
    if today.day < birth.day:
        months -= 1
    return {"years": months // 12, "months": months % 12}


def weight_chart(
    series: Sequence[tuple[dt.date, int]], unit: str, lang: str
) -> dict[str, Any] | None:
    """Points placed as fractions of the plot and three labelled grid lines (``None``: no data).

    The vertical scale leaves a margin above and below the data, so a flat series sits
    in the middle rather than on the frame.
    """
    series = list(series)[-MAX_WEIGHT_POINTS:]
    if not series:
        return None
    values = [weight_value(grams, unit) for _day, grams in series]
    low, high = min(values), max(values)
    pad = (high - low) * Decimal("0.15") if high > low else max(high * Decimal("0.1"), Decimal(1))
    low, high = max(Decimal(0), low - pad), high + pad
    first, last = series[0][0], series[-1][0]
    days = (last - first).days

    def y(value: Decimal) -> float:
        return float((value - low) / (high - low))

    points = [
        {
            "x": (day - first).days / days if days else 0.5,
            "y": y(value),
            "label": number_text(value, lang),
        }
        for (day, _grams), value in zip(series, values, strict=True)
    ]
    ticks = []
    for fraction in (Decimal("0.1"), Decimal("0.5"), Decimal("0.9")):
        value = low + (high - low) * fraction
        rounded = value.quantize(Decimal("0.1") if high - low < 10 else Decimal(1))
        ticks.append({"y": y(rounded), "label": number_text(rounded, lang)})
    return {
        "points": points,
        "ticks": ticks,
        "first_date": date_text(first, lang),
        "last_date": date_text(last, lang),
    }


def _due_rows(items: list[DueItem], kind: str, lang: str) -> list[dict]:
    """The current vaccines (or dewormings) with their status, worst first."""
    return [
        {
            "name": item.record.name,
            "date": date_text(item.record.date, lang),
            "next_due": date_text(item.record.next_due, lang),
            "status": str(item.status),
            "scope": item.record.deworming_scope,
        }
        for item in items
        if item.current and item.record.kind == kind
    ]


def owner_contact(members: list[Membership]) -> dict[str, str] | None:
    """The household owner's name, email and phone as the report's OWNER block shows them;
    an owner with no name is named by their email, which is then not repeated below it."""
    owner = next((m.user for m in members if m.role == Role.OWNER), None)
    if owner is None:
        return None
    email = owner.email if owner.name else ""
    return {"name": owner.name or owner.email, "email": email, "phone": owner.phone}


def owner_members(*, user: User, pet: Pet) -> list[Membership]:
    """The pet's household members (the report shows the owner's contact details)."""
    return list(member_list(user=user, household=pet.household))


def _photo(pet: Pet) -> bytes | None:
    """The primary photo's card JPEG; a missing file leaves the report without a photo."""
    photo = Photo.objects.filter(pet=pet, is_primary=True).first()
    if photo is None:
        return None
    name = photo.path(PhotoVariant.CARD, "jpeg")
    try:
        with default_storage.open(name, "rb") as handle:
            return bytes(handle.read())
    except (OSError, ValueError):
        log.warning("report photo missing", extra={"pet_id": pet.pk, "photo": name})
        return None


def report_data(
    *, user: User, pet: Pet, lang: str, today: dt.date, members: list[Membership]
) -> ReportInput:
    """Everything the template shows about ``pet`` (already access-checked for ``user``).

    ``today`` is the reader's date (``pawfile.lib.dates.user_today``): it decides due status,
    the pet's age, which medications are current and the date printed on the report.
    """
    # Attachments and contacts' pets are not shown: skip the selectors' prefetches.
    records = list(record_list(user=user, pet=pet).prefetch_related(None))

    def of(kind: str) -> list[HealthRecord]:
        return [r for r in records if r.kind == kind]

    weights = sorted(
        ((r.date, r.pk, r.weight_grams) for r in of(Kind.WEIGHT) if r.weight_grams),
        key=lambda row: (row[0], row[1]),
    )
    series = [(day, int(grams or 0)) for day, _pk, grams in weights]
    unit = pet.weight_unit
    contacts = (
        contact_list(user=user, household_id=pet.household_id)
        .filter(pets=pet)
        .prefetch_related(None)
    )
    latest = series[-1] if series else None
    # The pages' and the API's answer, on the reader's date (``today``, from the caller).
    due = due_items_by_pet(pet_ids=[pet.pk], today=today)[pet.pk]
    data: dict[str, Any] = {
        "lang": lang,
        "generated": date_text(today, lang),
        "photo": None,
        "pet": {
            "name": pet.name,
            "species": pet.species,
            "breed": pet.breed,
            "sex": pet.sex,
            "neutered": pet.neutered,
            "birth_date": date_text(pet.birth_date, lang),
            "birth_date_estimated": pet.birth_date_estimated,
            "age": pet_age(pet.birth_date, today),
            "microchip": pet.microchip,
            "colour": pet.colour,
            "weight": (
                f"{number_text(weight_value(latest[1], unit), lang)} {unit}" if latest else None
            ),
            "special_needs": pet.special_needs,
        },
        "owner": owner_contact(members),
        "contacts": [
            {"name": c.name, "relation": c.relation, "phone": c.phone, "email": c.email}
            for c in contacts
        ],
        "vet": (
            {"name": pet.vet_name, "clinic": pet.vet_clinic, "phone": pet.vet_phone}
            if pet.vet_name or pet.vet_clinic or pet.vet_phone
            else None
        ),
        "vaccines": _due_rows(due, Kind.VACCINATION, lang),
        "dewormings": _due_rows(due, Kind.DEWORMING, lang),
        "medications": [
            {
                "name": r.name,
                "dose": r.dose,
                "frequency": r.frequency,
                "date": date_text(r.date, lang),
                "end_date": date_text(r.end_date, lang),
            }
            for r in of(Kind.MEDICATION)
            if r.end_date is None or r.end_date >= today
        ],
        "allergies_text": pet.allergies.strip(),
        "allergies": [
            {"name": r.name, "severity": r.severity, "notes": r.notes} for r in of(Kind.ALLERGY)
        ],
        "visits": [
            {
                "date": date_text(r.date, lang),
                "name": r.name,
                "vet": r.vet_name,
                "clinic": r.clinic,
                "diagnosis": r.diagnosis,
            }
            for r in of(Kind.VISIT)[:RECENT_VISITS]
        ],
        "weight_unit": unit,
        "weights": weight_chart(series, unit, lang),
    }
    return ReportInput(data=data, photo=_photo(pet))
