"""Writes for health records and their attachments.

Each kind accepts only its own fields (``choices.FIELDS``); anything else is refused with a
message for that field, so an API client cannot set a vaccine batch on a weight record.
Weights may be given in kg or lb and are stored in grams. Refusals are ``Invalid`` (with the
field) and, from the pet gate, ``NotFound`` / ``Forbidden`` (``pawfile.lib.errors``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from pawfile.accounts.access import Action
from pawfile.accounts.models import User
from pawfile.health import hooks, selectors
from pawfile.health.choices import FIELDS, REQUIRED, Kind
from pawfile.health.models import Attachment, HealthRecord
from pawfile.lib import sqlrows
from pawfile.lib.dates import user_today
from pawfile.lib.errors import Invalid
from pawfile.lib.storage import files_delete_on_commit
from pawfile.lib.text import plain_lines
from pawfile.pets import selectors as pet_selectors
from pawfile.pets.models import Pet
from pawfile.pets.services import pet_revision_bump, pet_revision_bump_statement

COMMON_FIELDS = ("date", "notes")
GRAMS_PER = {"kg": Decimal(1000), "lb": Decimal("453.59237")}
MAX_GRAMS = 2_000_000  # 2 tonnes: anything above is a typo
# ``Kind.values`` builds its list (labels included) on every read: read once.
KINDS = frozenset(Kind.values)
# One-line fields: no line breaks or control characters (``lib.text``).
LINE_FIELDS = (
    "name",
    "manufacturer",
    "batch",
    "vet_name",
    "clinic",
    "dose",
    "frequency",
    "currency",
)


def weight_to_grams(value: Any, unit: str) -> int:
    """``value`` in ``unit`` (kg or lb) as whole grams; ``Invalid`` when not sensible."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid(_("Enter the weight as a number."), field="weight") from None
    if unit not in GRAMS_PER:
        raise Invalid(_("Choose kg or lb."), field="unit")
    if not number.is_finite() or number <= 0:
        raise Invalid(_("The weight must be more than zero."), field="weight")
    grams = int((number * GRAMS_PER[unit]).to_integral_value())
    if grams > MAX_GRAMS or grams < 1:
        raise Invalid(_("That weight is not plausible."), field="weight")
    return grams


def weight_from_grams(grams: int, unit: str, *, places: int = 2) -> Decimal:
    """``grams`` in ``unit`` (kg or lb) rounded to ``places`` decimals, without trailing zeros.

    The inverse of ``weight_to_grams`` for display: 4536 g is ``Decimal("10")`` lb.
    """
    value = (Decimal(grams) / GRAMS_PER[unit]).quantize(Decimal(1).scaleb(-places))
    # normalize() alone would write 100 as 1E+2; an integral value keeps its plain form.
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _apply(record: HealthRecord, kind: str, fields: dict[str, Any], *, today: dt.date) -> None:
    allowed = set(COMMON_FIELDS) | set(FIELDS[kind])
    errors: dict[str, list[str]] = {}
    for name in sorted(set(fields) - allowed):
        errors[name] = [_("This field does not apply to this kind of record.")]
    if errors:
        raise Invalid(fields=errors)
    plain_lines(fields, LINE_FIELDS)
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(record, name, value if value is not None else _empty(record, name))
    for name in REQUIRED[kind]:
        if getattr(record, name) in (None, ""):
            errors[name] = [_("This field is required.")]
    # A day of grace for someone travelling ahead of the time zone in their profile.
    if record.date and record.date > today + dt.timedelta(days=1):
        errors["date"] = [_("The date cannot be in the future.")]
    if record.next_due and record.date and record.next_due < record.date:
        errors["next_due"] = [_("The next due date must be after the date given.")]
    if record.end_date and record.date and record.end_date < record.date:
        errors["end_date"] = [_("The end date must be after the start date.")]
    if record.cost is not None and record.cost < 0:
        errors["cost"] = [_("The cost cannot be negative.")]
    if record.cost is not None and not record.currency:
        errors["currency"] = [_("Give the currency of the cost (e.g. EUR).")]
    if record.currency:
        record.currency = record.currency.upper()
        if len(record.currency) != 3 or not record.currency.isalpha():
            errors["currency"] = [_("Use a three-letter currency code such as EUR or USD.")]
    if errors:
        raise Invalid(fields=errors)


def _empty(record: HealthRecord, name: str) -> Any:
    field = record._meta.get_field(name)
    return None if field.null else ""


def _full_clean(record: HealthRecord, *, exclude: list[str] | None = None) -> None:
    """The model's own validation; its refusal becomes ``Invalid``."""
    try:
        record.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise Invalid(fields=exc.message_dict) from None


def record_create(*, actor: User, pet: Pet, kind: str, **fields: Any) -> HealthRecord:
    """Add a record of ``kind`` to ``pet`` (owner or caretaker)."""
    pet = pet_selectors.pet_checked(user=actor, pet=pet, action=Action.WRITE)
    if kind not in KINDS:
        raise Invalid(_("Unknown kind of record."), field="kind")
    record = HealthRecord(pet=pet, kind=kind, created_by=actor)
    today = user_today(actor)  # "today" and "in the future" are the actor's own date
    fields.setdefault("date", today)
    _apply(record, kind, fields, today=today)
    # pet and author were just loaded: no need for full_clean to look them up again
    _full_clean(record, exclude=["pet", "created_by"])
    if not sqlrows.HAND_WRITTEN:  # the benchmark switch (bench/api.py --orm)
        with transaction.atomic():
            record.save()
            pet_revision_bump(pet.pk)
            hooks.record_changed_send(record, created=True)
        return record
    # The row save() would write, and the pet's revision bump with it: one statement on
    # PostgreSQL, one transaction elsewhere. Apps that follow records (``health.hooks``)
    # write in the same transaction, when they have something to do for this record.
    # On PostgreSQL the same statement reads what the new record's due status needs
    # (``selectors.records_seen_statement``), so the answer asks nothing more.
    bump, seen = pet_revision_bump_statement(pet.pk), selectors.records_seen_statement(record)
    if not hooks.record_changed_heard(record, created=True):
        selectors.records_seen_attach(record, sqlrows.insert(record, along=bump, read=seen))
        return record
    with transaction.atomic():
        selectors.records_seen_attach(record, sqlrows.insert(record, along=bump, read=seen))
        hooks.record_changed_send(record, created=True)
    return record


def record_update(*, actor: User, record: HealthRecord, **fields: Any) -> HealthRecord:
    """Change fields of a record; its kind never changes."""
    record = selectors.record_checked(user=actor, record=record, action=Action.WRITE)
    if "kind" in fields and fields.pop("kind") != record.kind:
        raise Invalid(_("The kind of a record cannot change."), field="kind")
    _apply(record, record.kind, fields, today=user_today(actor))
    # The author may be gone (deleted account, SET_NULL): the household still edits it.
    _full_clean(record, exclude=["created_by"])
    with transaction.atomic():
        record.save()
        pet_revision_bump(record.pet_id)
        hooks.record_changed_send(record)
    return record


def record_delete(*, actor: User, record: HealthRecord) -> None:
    record = selectors.record_checked(user=actor, record=record, action=Action.WRITE)
    names = [str(a.file.name) for a in record.attachments.all()]
    with transaction.atomic():
        hooks.record_changed_send(record, deleted=True)
        record.delete()
        files_delete_on_commit(names)
    pet_revision_bump(record.pet_id)


def weight_record(
    *, actor: User, pet: Pet, value: Any, unit: str, date: dt.date | None = None, notes: str = ""
) -> HealthRecord:
    """Record a weight given in kg or lb."""
    return record_create(
        actor=actor, pet=pet, kind=Kind.WEIGHT, weight_grams=weight_to_grams(value, unit),
        date=date or user_today(actor), notes=notes,
    )  # fmt: skip


# --- Attachments ---------------------------------------------------------------------------

ATTACHMENT_MAX_BYTES = 15 * 1024 * 1024


def attachment_add(
    *, actor: User, record: HealthRecord, upload: IO[bytes], filename: str
) -> Attachment:
    """Attach a PDF or an image to a record. Raises ``Invalid`` about ``file``
    (nothing stored) for anything else; images are re-encoded, PDFs checked by structure."""
    from pawfile.lib.documents import document_check

    record = selectors.record_checked(user=actor, record=record, action=Action.WRITE)
    data, content_type, ext = document_check(upload, max_bytes=ATTACHMENT_MAX_BYTES)
    safe_name = (filename or "attachment").replace("/", "_").replace("\\", "_")[:200]
    attachment = Attachment(
        record=record, original_name=safe_name, content_type=content_type, size=len(data),
        uploaded_by=actor,
    )  # fmt: skip
    attachment.file.save(f"upload.{ext}", ContentFile(data), save=False)
    try:
        attachment.save()
    except BaseException:
        attachment.file.delete(save=False)
        raise
    pet_revision_bump(record.pet_id)
    return attachment


def attachment_delete(*, actor: User, attachment: Attachment) -> None:
    attachment = selectors.attachment_get(
        user=actor, attachment_id=attachment.pk, action=Action.WRITE
    )
    name = str(attachment.file.name)
    pet_id = attachment.record.pet_id
    with transaction.atomic():
        attachment.delete()
        files_delete_on_commit([name])
    pet_revision_bump(pet_id)
