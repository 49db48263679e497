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
from typing import Any
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pawfile.accounts.access import Action
from pawfile.accounts.models import User
from pawfile.health import display, selectors, services, status
from pawfile.health.choices import DUE_KINDS, DueStatus, Kind
from pawfile.health.forms import ERROR_FIELD, AttachmentForm, RecordForm
from pawfile.health.models import Attachment, HealthRecord
from pawfile.lib.dates import user_today
from pawfile.lib.errors import ALL_FIELDS
from pawfile.lib.htmx import is_htmx
from pawfile.lib.webforms import service_refusals
from pawfile.pets.models import Pet
from pawfile.pets.selectors import pet_get

DOWNLOAD_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "application/pdf": ("pdf",),
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg"),
}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


# --- For the pet pages ---------------------------------------------------------------------


def pet_panel_context(request: HttpRequest, pet: Pet) -> dict[str, Any]:
    """Context of ``health/_pet_panel.html`` (the health and weight cards of the pet page)
    for ``pet`` as the signed-in user sees it, on the user's own date.

    What needs attention leads: overdue and due-soon vaccinations and dewormings
    (``health_attention``, worst first), then the ones up to date (``health_upcoming``, by
    next due date), those without a next due date (``health_undated``), current medication
    and allergies. Keys start with ``health_`` so they never shadow the pet page's own.
    The cards depend on the pet's records (its ``revision``), the language, the user's date
    and whether the user may write: the pet page caches them by those. Raises ``Http404``
    when the user may not see the pet.
    """
    user = _user(request)
    today = user_today(user)
    items, _due = display.due_statuses(user, pet, today=today)
    medications, allergies = selectors.care_records(pet=pet, today=today)
    series = selectors.weight_series(pet=pet)
    attention = (DueStatus.OVERDUE, DueStatus.DUE_SOON)
    return {
        "health_due_items": items,
        "health_attention": [i for i in items if i.status in attention],
        "health_upcoming": [i for i in items if i.status == DueStatus.UP_TO_DATE],
        "health_undated": [i for i in items if i.status == DueStatus.NONE],
        "health_due_summary": status.pet_due_summary(items),
        "health_medications": medications,
        "health_allergies": allergies,
        "health_weight": display.weight_summary(series, pet.weight_unit),
        "health_chart": display.pet_weight_chart(pet, series) if len(series) > 1 else "",
        "health_today": today,
        "health_can_write": display.can_write(user, pet),
        "health_kinds": Kind.choices,
    }


def pet_due_summary_for(pet: Pet, *, today: dt.date) -> DueStatus:
    """The worst due status on ``today`` of the pet's current vaccinations and dewormings
    (caller has checked that the user may see the pet, e.g. it came from
    ``pets.selectors.pet_list``)."""
    return pet_due_summaries_for([pet], today=today)[pet.pk]


def pet_due_summaries_for(pets: Iterable[Pet], *, today: dt.date) -> dict[int, DueStatus]:
    """``pet_due_summary_for`` of many pets in one query: ``{pet id: status}``."""
    by_pet = selectors.due_items_by_pet(pet_ids=[pet.pk for pet in pets], today=today)
    return {pet_id: status.pet_due_summary(items) for pet_id, items in by_pet.items()}


def pet_due_summaries(request: HttpRequest, pets: Iterable[Pet]) -> dict[int, DueStatus]:
    """The hook the pet list calls: ``pet_due_summaries_for`` of pets from the user's list,
    on the signed-in user's own date."""
    return pet_due_summaries_for(pets, today=user_today(request.user))


# --- Timeline ------------------------------------------------------------------------------


TIMELINE_PAGE_SIZE = 50


def timeline_cursor(value: str | None) -> tuple[dt.date, int] | None:
    """``?before=`` of the timeline (``2026-11-01.123``: date and id of the last record shown)
    as ``(date, id)``; ``None`` when absent. Raises ``BadRequest`` (400) for anything else."""
    if value is None:
        return None
    day, _dot, pk = value.partition(".")
    try:
        if not (pk.isascii() and pk.isdigit() and len(pk) <= 18):
            raise ValueError
        return dt.date.fromisoformat(day), int(pk)
    except ValueError:
        raise BadRequest(
            _("This link to older records is broken; open the timeline again.")
        ) from None


@login_required
@require_GET
def pet_timeline(request: HttpRequest, pet_id: int) -> HttpResponse:
    """A pet's records, newest first by month, ``TIMELINE_PAGE_SIZE`` at a time; ``?kind=...``
    (repeatable) filters, ``?before=`` (from the "Older records" link) gives the next page.

    HTMX requests get only the list, so the filter swaps it without reloading the chart; an
    HTMX request for an older page gets only that page's months and its own "Older records"
    link, which replace the link that asked for them.
    """
    user = _user(request)
    pet = pet_get(user=user, pet_id=pet_id)
    kinds = [k for k in request.GET.getlist("kind") if k in Kind.values]
    before = timeline_cursor(request.GET.get("before"))
    _items, due = display.due_statuses(user, pet, today=user_today(user))
    records = selectors.record_list(user=user, pet=pet, kinds=kinds or None)
    page, more = selectors.record_page(records, before=before, size=TIMELINE_PAGE_SIZE)
    entries = [display.timeline_entry(record, due, pet.weight_unit) for record in page]
    query = [("kind", kind) for kind in kinds]
    context: dict[str, Any] = {
        "pet": pet,
        "months": display.months_of(entries),
        "page_key": f"{before[0]:%Y%m%d}-{before[1]}" if before else "first",
        # Called only by a template that shows it: an older page over HTMX counts nothing.
        "record_count": records.count,
        "older_query": urlencode([*query, ("before", f"{page[-1].date}.{page[-1].pk}")])
        if more
        else "",
        "newest_query": urlencode(query),
        "kinds": kinds,
        "kind_filters": [(value, label, value in kinds) for value, label in Kind.choices],
        "can_write": display.can_write(user, pet),
        "health_kinds": Kind.choices,
    }
    # A history restore asks with HX-Request too, but needs the whole page back.
    if is_htmx(request) and not request.headers.get("HX-History-Restore-Request"):
        fragment = "_timeline_page.html" if before else "_timeline_list.html"
        response = render(request, f"health/{fragment}", context)
    else:
        series = selectors.weight_series(pet=pet)
        context["chart"] = display.pet_weight_chart(pet, series)
        context["weight"] = display.weight_summary(series, pet.weight_unit)
        response = render(request, "health/timeline.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- Records -------------------------------------------------------------------------------


def _save(
    request: HttpRequest, form: RecordForm, save: Callable[[dict[str, Any]], HealthRecord]
) -> HealthRecord | None:
    """Run ``save`` with the form's values; a refusal lands on the form and gives ``None``."""
    if not form.is_valid():
        return None
    with service_refusals(request, form=form, rename=ERROR_FIELD) as outcome:
        saved = save(form.service_fields())
    return saved if outcome.ok else None


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
            request,
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
    entry = display.TimelineEntry(record)
    if record.kind in DUE_KINDS:
        due = display.due_statuses(user, pet, today=user_today(user))[1]
        entry = display.timeline_entry(record, due, pet.weight_unit)
    context = {
        "pet": pet,
        "record": record,
        "entry": entry,
        "facts": display.record_facts(record, pet.weight_unit),
        "attachments": list(record.attachments.all()),
        "upload_form": upload_form or AttachmentForm(),
        "can_write": display.can_write(user, pet),
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
            request,
            form,
            lambda fields: services.record_update(actor=user, record=record, **fields),
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
        # Every refusal of an upload is about the file.
        with service_refusals(request, form=form, rename={ALL_FIELDS: "file"}) as outcome:
            services.attachment_add(actor=user, record=record, upload=upload, filename=upload.name)
        if outcome.ok:
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
