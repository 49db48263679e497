"""Reads for health records, through the pet gate (404 for strangers, 403 for low roles)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.http import Http404

from pawfile.accounts.models import User
from pawfile.accounts.permissions import Action
from pawfile.health.choices import DUE_KINDS, Kind
from pawfile.health.models import Attachment, HealthRecord
from pawfile.pets.models import Pet
from pawfile.pets.selectors import pet_get


def record_list(*, user: User, pet: Pet, kinds: list[str] | None = None) -> QuerySet[HealthRecord]:
    """Records of a pet the user may see, newest first; optionally only some kinds."""
    pet_get(user=user, pet_id=pet.pk)
    records = HealthRecord.objects.filter(pet=pet).prefetch_related("attachments")
    if kinds:
        records = records.filter(kind__in=[k for k in kinds if k in Kind.values])
    return records


def record_page(
    records: QuerySet[HealthRecord], *, before: tuple[dt.date, int] | None, size: int
) -> tuple[list[HealthRecord], bool]:
    """Up to ``size`` of ``records`` (ordered newest first, as ``record_list`` gives them)
    older than ``before`` (the date and id of the last record already shown), and whether
    any older remain. A keyset page: records added meanwhile never shift it."""
    if before is not None:
        day, pk = before
        records = records.filter(Q(date__lt=day) | Q(date=day, pk__lt=pk))
    page = list(records.order_by("-date", "-id")[: size + 1])
    return page[:size], len(page) > size


def record_get(*, user: User, record_id: int, action: Action = Action.VIEW) -> HealthRecord:
    record = HealthRecord.objects.filter(pk=record_id).first()
    if record is None:
        raise Http404
    record.pet = pet_get(user=user, pet_id=record.pet_id, action=action)
    return record


def attachment_get(*, user: User, attachment_id: int, action: Action = Action.VIEW) -> Attachment:
    attachment = Attachment.objects.select_related("record").filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    pet_get(user=user, pet_id=attachment.record.pet_id, action=action)
    return attachment


def weight_series(*, pet: Pet) -> list[tuple[dt.date, int]]:
    """``(date, grams)`` of the pet's weights, oldest first (caller has checked access)."""
    rows = (
        HealthRecord.objects.filter(pet=pet, kind=Kind.WEIGHT, weight_grams__isnull=False)
        .order_by("date", "id")
        .values_list("date", "weight_grams")
    )
    return [(day, int(grams or 0)) for day, grams in rows]


def due_records(*, pet_ids: Iterable[int]) -> dict[int, list[HealthRecord]]:
    """Vaccination and deworming records of each pet, by pet id (caller has checked access).

    One query for any number of pets, so a pet list can show every pet's due badge.
    """
    by_pet: dict[int, list[HealthRecord]] = {pet_id: [] for pet_id in pet_ids}
    records = HealthRecord.objects.filter(pet_id__in=list(by_pet), kind__in=DUE_KINDS)
    for record in records:
        by_pet[record.pet_id].append(record)
    return by_pet
