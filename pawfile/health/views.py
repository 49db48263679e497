"""Health record pages: a pet's timeline with its weight chart, record forms, attachments.

Every read goes through ``health.selectors`` and every write through ``health.services``, so
the household role table applies: a stranger gets 404, a viewer reads but gets 403 on any
write (and sees no write buttons). Bad input is shown on the form with a 400, never a 500.

For the pet pages: ``pet_panel_context`` + ``health/_pet_panel.html`` render the health box
of the pet detail page; ``pet_due_summary_for``/``pet_due_summaries`` give the due badge of
the pet list (``health/_due_badge.html`` draws it).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pawfile.accounts.models import User
from pawfile.accounts.permissions import Action, role_allows
from pawfile.health import selectors, services, status
from pawfile.health.chart import weight_chart_svg
from pawfile.health.choices import DUE_KINDS, FIELDS, NAME_LABEL, DueStatus, Kind
from pawfile.health.forms import AttachmentForm, RecordForm
from pawfile.health.models import Attachment, HealthRecord
from pawfile.lib.htmx import is_htmx
from pawfile.pets.models import Pet
from pawfile.pets.selectors import household_role, pet_get

DOWNLOAD_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "application/pdf": ("pdf",),
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg"),
}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _can_write(user: User, pet: Pet) -> bool:
    role = getattr(pet, "role", None) or household_role(user=user, household_id=pet.household_id)
    return role_allows(role, Action.WRITE)


# --- What the pages show -------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """A record as the timeline shows it. ``status`` is set on the current vaccination or
    deworming of its name; ``superseded`` on older ones (a booster replaced them)."""

    record: HealthRecord
    status: DueStatus | None = None
    superseded: bool = False
    weight: Decimal | None = None


@dataclass
class Month:
    month: dt.date
    entries: list[TimelineEntry] = field(default_factory=list)


@dataclass(frozen=True)
class WeightSummary:
    """The latest weight in the pet's unit and which way it went since the one before."""

    value: Decimal
    unit: str
    date: dt.date
    trend: str  # "up", "down", "same" or "" (a single weight)
    previous: Decimal | None


def _due_statuses(user: User, pet: Pet) -> tuple[list[status.DueItem], dict[int, DueStatus]]:
    items = status.current_due_items(
        selectors.record_list(user=user, pet=pet, kinds=list(DUE_KINDS))
    )
    return items, {item.record.pk: item.status for item in items}


def _entry(record: HealthRecord, due: dict[int, DueStatus], unit: str) -> TimelineEntry:
    weight = None
    if record.kind == Kind.WEIGHT and record.weight_grams:
        weight = services.weight_from_grams(record.weight_grams, unit)
    return TimelineEntry(
        record=record,
        status=due.get(record.pk),
        superseded=record.kind in DUE_KINDS and record.pk not in due,
        weight=weight,
    )


def _months(entries: Iterable[TimelineEntry]) -> list[Month]:
    """Entries (newest first) grouped by calendar month, newest month first."""
    months: list[Month] = []
    for entry in entries:
        first = entry.record.date.replace(day=1)
        if not months or months[-1].month != first:
            months.append(Month(first))
        months[-1].entries.append(entry)
    return months


def _weight_summary(series: list[tuple[dt.date, int]], unit: str) -> WeightSummary | None:
    if not series:
        return None
    day, grams = series[-1]
    previous = series[-2][1] if len(series) > 1 else None
    trend = ""
    if previous is not None:
        trend = "up" if grams > previous else "down" if grams < previous else "same"
    return WeightSummary(
        value=services.weight_from_grams(grams, unit),
        unit=unit,
        date=day,
        trend=trend,
        previous=services.weight_from_grams(previous, unit) if previous is not None else None,
    )


def _chart(pet: Pet, series: list[tuple[dt.date, int]], *, small: bool = False) -> SafeString:
    svg = weight_chart_svg(
        series,
        pet.weight_unit,
        240 if small else 720,
        80 if small else 260,
        get_language() or "en",
        title=_("Weight of %(name)s") % {"name": pet.name},
        chart_id=f"weight-chart-{pet.pk}{'-small' if small else ''}",
    )
    return mark_safe(svg)  # noqa: S308 - weight_chart_svg escapes every piece of text


def record_facts(record: HealthRecord, unit: str) -> list[tuple[str, str]]:
    """``(label, text)`` of the record's filled-in fields, in form order, written the way the
    current language writes dates and numbers."""
    facts: list[tuple[str, str]] = []
    for name in FIELDS[record.kind]:
        value: Any = getattr(record, name)
        if value in (None, "") or name == "currency":
            continue
        label = str(HealthRecord._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
        if name == "name":
            label = str(NAME_LABEL.get(Kind(record.kind), label))
        elif name == "weight_grams":
            label = _("Weight")
            value = f"{formats.number_format(services.weight_from_grams(value, unit))} {unit}"
        elif name in ("deworming_scope", "severity"):
            value = getattr(record, f"get_{name}_display")()
        elif name == "cost":
            value = f"{formats.number_format(value, 2)} {record.currency}".strip()
        elif isinstance(value, dt.date):
            value = formats.date_format(value, "DATE_FORMAT")
        facts.append((label[:1].upper() + label[1:], str(value)))
    return facts


# --- For the pet pages ---------------------------------------------------------------------


def pet_panel_context(request: HttpRequest, pet: Pet) -> dict[str, Any]:
    """Context of ``health/_pet_panel.html`` for ``pet`` as the signed-in user sees it.

    Keys start with ``health_`` so they never shadow the pet page's own. Raises ``Http404``
    when the user may not see the pet.
    """
    user = _user(request)
    items, _due = _due_statuses(user, pet)
    series = selectors.weight_series(pet=pet)
    return {
        "health_due_items": items,
        "health_due_summary": status.pet_due_summary(items),
        "health_weight": _weight_summary(series, pet.weight_unit),
        "health_chart": _chart(pet, series, small=True) if len(series) > 1 else "",
        "health_can_write": _can_write(user, pet),
        "health_kinds": Kind.choices,
    }


def pet_due_summary_for(pet: Pet) -> DueStatus:
    """The worst due status of the pet's current vaccinations and dewormings (caller has
    checked that the user may see the pet, e.g. it came from ``pets.selectors.pet_list``)."""
    return pet_due_summaries_for([pet])[pet.pk]


def pet_due_summaries_for(pets: Iterable[Pet]) -> dict[int, DueStatus]:
    """``pet_due_summary_for`` of many pets in one query: ``{pet id: status}``."""
    by_pet = selectors.due_records(pet_ids=[pet.pk for pet in pets])
    return {
        pet_id: status.pet_due_summary(status.current_due_items(records))
        for pet_id, records in by_pet.items()
    }


def pet_due_summaries(request: HttpRequest, pets: Iterable[Pet]) -> dict[int, DueStatus]:
    """The hook the pet list calls: ``pet_due_summaries_for`` of pets from the user's list."""
    return pet_due_summaries_for(pets)


# --- Timeline ------------------------------------------------------------------------------


@login_required
@require_GET
def pet_timeline(request: HttpRequest, pet_id: int) -> HttpResponse:
    """All records of a pet, newest first by month; ``?kind=...`` (repeatable) filters.

    HTMX requests get only the list, so the filter swaps it without reloading the chart.
    """
    user = _user(request)
    pet = pet_get(user=user, pet_id=pet_id)
    kinds = [k for k in request.GET.getlist("kind") if k in Kind.values]
    _items, due = _due_statuses(user, pet)
    records = selectors.record_list(user=user, pet=pet, kinds=kinds or None)
    entries = [_entry(record, due, pet.weight_unit) for record in records]
    context: dict[str, Any] = {
        "pet": pet,
        "months": _months(entries),
        "record_count": len(entries),
        "kinds": kinds,
        "kind_filters": [(value, label, value in kinds) for value, label in Kind.choices],
        "can_write": _can_write(user, pet),
        "health_kinds": Kind.choices,
    }
    # A history restore asks with HX-Request too, but needs the whole page back.
    if is_htmx(request) and not request.headers.get("HX-History-Restore-Request"):
        response = render(request, "health/_timeline_list.html", context)
    else:
        series = selectors.weight_series(pet=pet)
        context["chart"] = _chart(pet, series)
        context["weight"] = _weight_summary(series, pet.weight_unit)
        response = render(request, "health/timeline.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- Records -------------------------------------------------------------------------------


def _save(form: RecordForm, save: Callable[[dict[str, Any]], HealthRecord]) -> HealthRecord | None:
    """Run ``save`` with the form's values; a refusal lands on the form and gives ``None``."""
    if not form.is_valid():
        return None
    try:
        return save(form.service_fields())
    except ValidationError as exc:
        form.add_service_errors(exc)
        return None


def _form_page(
    request: HttpRequest, pet: Pet, form: RecordForm, record: HealthRecord | None = None
) -> HttpResponse:
    context = {"pet": pet, "form": form, "record": record, "kind": Kind(form.kind)}
    return render(request, "health/record_form.html", context, status=400 if form.is_bound else 200)


def _after_save(record: HealthRecord) -> HttpResponse:
    # A weight is best seen on the chart; other records may want a file attached next.
    if record.kind == Kind.WEIGHT:
        return redirect("pet_timeline", pet_id=record.pet_id)
    return redirect("record_detail", record_id=record.pk)


@login_required
@require_http_methods(["GET", "POST"])
def record_create(request: HttpRequest, pet_id: int, kind: str) -> HttpResponse:
    if kind not in Kind.values:
        raise Http404
    user = _user(request)
    pet = pet_get(user=user, pet_id=pet_id, action=Action.WRITE)
    data = request.POST if request.method == "POST" else None
    form = RecordForm(data, kind=kind, unit=pet.weight_unit)
    if data is not None:
        record = _save(
            form,
            lambda fields: services.record_create(actor=user, pet=pet, kind=kind, **fields),
        )
        if record is not None:
            messages.success(request, _("The record was saved."))
            return _after_save(record)
    return _form_page(request, pet, form)


@login_required
@require_GET
def record_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    return _detail_page(request, selectors.record_get(user=_user(request), record_id=record_id))


def _detail_page(
    request: HttpRequest,
    record: HealthRecord,
    upload_form: AttachmentForm | None = None,
    status_code: int = 200,
) -> HttpResponse:
    user, pet = _user(request), record.pet
    entry = TimelineEntry(record)
    if record.kind in DUE_KINDS:
        entry = _entry(record, _due_statuses(user, pet)[1], pet.weight_unit)
    context = {
        "pet": pet,
        "record": record,
        "entry": entry,
        "facts": record_facts(record, pet.weight_unit),
        "attachments": list(record.attachments.all()),
        "upload_form": upload_form or AttachmentForm(),
        "can_write": _can_write(user, pet),
    }
    return render(request, "health/record_detail.html", context, status=status_code)


@login_required
@require_http_methods(["GET", "POST"])
def record_edit(request: HttpRequest, record_id: int) -> HttpResponse:
    user = _user(request)
    record = selectors.record_get(user=user, record_id=record_id, action=Action.WRITE)
    pet = record.pet
    data = request.POST if request.method == "POST" else None
    form = RecordForm(data, kind=record.kind, unit=pet.weight_unit, record=record)
    if data is not None:
        saved = _save(
            form, lambda fields: services.record_update(actor=user, record=record, **fields)
        )
        if saved is not None:
            messages.success(request, _("The record was saved."))
            return _after_save(saved)
    return _form_page(request, pet, form, record)


@login_required
@require_http_methods(["GET", "POST"])
def record_delete(request: HttpRequest, record_id: int) -> HttpResponse:
    """GET asks for confirmation (the page works without JavaScript); POST deletes."""
    user = _user(request)
    record = selectors.record_get(user=user, record_id=record_id, action=Action.WRITE)
    if request.method == "POST":
        services.record_delete(actor=user, record=record)
        messages.success(request, _("The record was deleted."))
        return redirect("pet_timeline", pet_id=record.pet_id)
    context = {"pet": record.pet, "record": record, "attachments": record.attachments.count()}
    return render(request, "health/record_confirm_delete.html", context)


# --- Attachments ---------------------------------------------------------------------------


@login_required
@require_POST
def attachment_add(request: HttpRequest, record_id: int) -> HttpResponse:
    """Upload a PDF or image onto a record; a refused file comes back as a 400 with the reason
    on the record page, and nothing is stored."""
    user = _user(request)
    record = selectors.record_get(user=user, record_id=record_id, action=Action.WRITE)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            services.attachment_add(actor=user, record=record, upload=upload, filename=upload.name)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("The file was attached."))
            return redirect("record_detail", record_id=record.pk)
    return _detail_page(request, record, upload_form=form, status_code=400)


def download_filename(original: str, content_type: str) -> str:
    """The name a download is saved under: the uploaded name, with the extension of what is
    actually stored (an image may have been re-encoded from PNG to JPEG)."""
    extensions = DOWNLOAD_EXTENSIONS.get(content_type, ("bin",))
    stem, dot, ext = original.rpartition(".")
    if not dot:
        stem, ext = original, ""
    if ext.lower() in extensions and stem.strip():
        return original
    stem = stem.strip() or _("attachment")
    return f"{stem}.{extensions[0]}"


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_()\- ]+", "_", text).strip(" _")


def content_disposition(filename: str) -> str:
    """``attachment`` with a plain-ASCII ``filename`` for old clients and the exact name in
    ``filename*`` (RFC 6266/5987). Nothing from the name can end the header or add a field."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    fallback = _ascii(stem)[:120] or "attachment"
    if _ascii(ext):
        fallback = f"{fallback}.{_ascii(ext)[:10]}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@login_required
@require_GET
def attachment_file(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    attachment = selectors.attachment_get(user=_user(request), attachment_id=attachment_id)
    try:
        handle = attachment.file.open("rb")
    except OSError:
        raise Http404 from None
    response = FileResponse(handle, content_type=attachment.content_type)
    name = download_filename(attachment.original_name, attachment.content_type)
    response["Content-Disposition"] = content_disposition(name)
    response["X-Content-Type-Options"] = "nosniff"
    # Should a browser render it anyway, it runs nothing and loads nothing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_POST
def attachment_delete(request: HttpRequest, attachment_id: int) -> HttpResponse:
    user = _user(request)
    attachment: Attachment = selectors.attachment_get(
        user=user, attachment_id=attachment_id, action=Action.WRITE
    )
    services.attachment_delete(actor=user, attachment=attachment)
    messages.success(request, _("The file was removed."))
    return redirect("record_detail", record_id=attachment.record_id)
