"""Web pages of the QR codes app: the management pages (QR managers, from allowed
addresses: codes and batches of pre-printed tags with their print sheet and CSV), the
public images ``/q/{id}.png|.svg|.pdf`` and the claim page of a tag ``/t/{id}``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pawfile.lib.clientip import client_ip
from pawfile.lib.dates import user_today
from pawfile.lib.errors import Conflict, Forbidden, Invalid, NotFound, TooMany
from pawfile.lib.etag import etag_matches
from pawfile.lib.webforms import service_refusals
from pawfile.pets.selectors import pet_list
from pawfile.qr import access, batches, claim, images, selectors, services
from pawfile.qr.chart import scans_chart
from pawfile.qr.forms import BatchForm, ClaimForm, CodeForm
from pawfile.qr.ids import code_id_valid
from pawfile.qr.models import QRCode

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
IMAGE_MAX_AGE = 365 * 24 * 3600
IMAGE_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


def _manager(request: HttpRequest, *, collection: bool = False) -> Any:
    access.address_check(request)
    access.manager_check(request.user, collection=collection)
    return request.user


def _code(request: HttpRequest, code_id: str) -> QRCode:
    user = _manager(request)
    if not code_id_valid(code_id):
        raise Http404
    return selectors.code_get(user=user, code_id=code_id)


def _post(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


@login_required
@require_safe
def code_list(request: HttpRequest) -> HttpResponse:
    user = _manager(request, collection=True)
    codes = selectors.code_list(user=user)[:200]
    return render(request, "qr/code_list.html", {"codes": codes})


@login_required
@GET_POST
def code_create(request: HttpRequest) -> HttpResponse:
    user = _manager(request, collection=True)
    form = CodeForm(_post(request), request.FILES or None)
    del form.fields["remove_logo"]
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            code = services.code_create(
                actor=user, logo=form.cleaned_data.get("logo"), **form.service_fields()
            )
        if outcome.ok:
            messages.success(request, _("The QR code was created."))
            return redirect("qr_code_detail", code_id=code.id)
    status = 400 if request.method == "POST" else 200
    return render(request, "qr/code_form.html", {"form": form, "code": None}, status=status)


@login_required
@GET_POST
def code_detail(request: HttpRequest, code_id: str) -> HttpResponse:
    """The code: its images, scans per day, and the form that changes it."""
    code = _code(request, code_id)
    form = CodeForm(_post(request), request.FILES or None, initial=CodeForm.initial_for(code))
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            services.code_update(
                actor=request.user,
                code_id=code.id,
                logo=form.cleaned_data.get("logo"),
                remove_logo=form.cleaned_data.get("remove_logo", False),
                **form.service_fields(),
            )
        if outcome.ok:
            messages.success(request, _("The QR code was saved."))
            return redirect("qr_code_detail", code_id=code.id)
    summary = selectors.scan_summary(code=code, today=user_today(request.user))
    context = {
        "code": code,
        "form": form,
        "summary": summary,
        "chart": scans_chart(summary.days),
        "breakdown": selectors.scan_breakdown(code=code),
        "scan_url": images.scan_url(code),
        "etag": images.image_etag(code).strip('"'),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "qr/code_detail.html", context, status=status)


@login_required
@require_POST
def code_active(request: HttpRequest, code_id: str) -> HttpResponse:
    """Switch the code on or off (``active`` = ``true``/``false``)."""
    code = _code(request, code_id)
    active = request.POST.get("active") == "true"
    services.code_update(actor=request.user, code_id=code.id, is_active=active)
    messages.success(request, _("The code is on.") if active else _("The code is off."))
    return redirect("qr_code_detail", code_id=code.id)


@login_required
@GET_POST
def code_delete(request: HttpRequest, code_id: str) -> HttpResponse:
    code = _code(request, code_id)
    if request.method == "POST":
        services.code_delete(actor=request.user, code_id=code.id)
        messages.success(request, _("The QR code was deleted."))
        return redirect("qr_code_list")
    return render(request, "qr/code_confirm_delete.html", {"code": code})


@require_safe
def code_image(request: HttpRequest, code_id: str, kind: str) -> HttpResponse:
    """The code as PNG, SVG or a print PDF, for anyone who has its id (it is printed).
    Strong ETag from the content's inputs; cached for a year (the page's links carry the
    tag in their query, so a new style is a new URL)."""
    code = QRCode.objects.filter(pk=code_id).first() if code_id_valid(code_id) else None
    if code is None or kind not in IMAGE_TYPES:
        raise Http404
    etag = images.image_etag(code)
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={IMAGE_MAX_AGE}",
        "Cross-Origin-Resource-Policy": "cross-origin",  # posters and sites may embed it
    }
    if etag_matches(request.headers.get("If-None-Match"), etag):
        response: HttpResponse = HttpResponseNotModified()
    else:
        key = f"qr:image:{code.id}:{kind}:{etag}"
        content = cache.get(key)
        if not isinstance(content, bytes):
            render_kind = {"png": images.code_png, "svg": images.code_svg, "pdf": images.code_pdf}
            content = render_kind[kind](code)
            cache.set(key, content, 24 * 3600)
        response = HttpResponse(content, content_type=IMAGE_TYPES[kind])
        if kind == "pdf":
            response["Content-Disposition"] = f'inline; filename="qr-{code.id}.pdf"'
        if kind == "svg":
            response["Content-Security-Policy"] = "default-src 'none'; img-src data:"
    for name, value in headers.items():
        response[name] = value
    return response


# -- Batches of pre-printed tags (QR managers) ------------------------------------------------


@login_required
@GET_POST
def batch_list(request: HttpRequest) -> HttpResponse:
    """The batches, and the form that makes one."""
    user = _manager(request, collection=True)
    form = BatchForm(_post(request))
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            batch = batches.batch_create(actor=user, **form.cleaned_data)
        if outcome.ok:
            messages.success(
                request, _("%(count)d tags were made. Print them now.") % {"count": batch.count}
            )
            return redirect("qr_batch_detail", batch_id=batch.pk)
    context = {"form": form, "batches": batches.batch_list(user=user)[:100]}
    status = 400 if request.method == "POST" else 200
    return render(request, "qr/batch_list.html", context, status=status)


@login_required
@require_safe
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _manager(request)
    batch = batches.batch_get(user=user, batch_id=batch_id)
    claimed = batches.batch_codes(batch).filter(claimed_at__isnull=False).order_by("-claimed_at")
    first = batches.batch_codes(batch).first()
    context = {
        "batch": batch,
        "claimed": claimed[:50],
        "sample": first,
        "sample_etag": images.image_etag(first).strip('"') if first else "",
    }
    return render(request, "qr/batch_detail.html", context)


@login_required
@require_safe
def batch_sheet(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The print sheet (PDF) of the batch; kept in the cache a day (it never changes)."""
    user = _manager(request)
    batch = batches.batch_get(user=user, batch_id=batch_id)
    key = f"qr:batch-sheet:{batch.pk}:{request.LANGUAGE_CODE}"
    content = cache.get(key)
    if not isinstance(content, bytes):
        content = batches.batch_sheet_pdf(batch)
        cache.set(key, content, 24 * 3600)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="tags-batch-{batch.pk}.pdf"'
    return response


@login_required
@require_safe
def batch_csv(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _manager(request)
    batch = batches.batch_get(user=user, batch_id=batch_id)
    response = HttpResponse(batches.batch_csv(batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tags-batch-{batch.pk}.csv"'
    return response


# -- The claim page of a tag ------------------------------------------------------------------


def _linked_pet(request: HttpRequest, code: Any) -> Any:
    """The pet a linked tag leads to, if the user is of its household; else ``None``."""
    if not request.user.is_authenticated or code.target_ref is None:
        return None
    return pet_list(user=request.user).filter(pk=code.target_ref).first()


@GET_POST
def tag_claim(request: HttpRequest, code_id: str) -> HttpResponse:
    """``/t/{id}``: "This tag is not linked yet": sign in (back here), pick a pet, done.
    A tag already linked: 409 to a claim, a short explanation otherwise. Unknown: 404."""
    state = claim.tag_state(user=request.user, code_id=code_id)
    here = reverse("qr_tag_claim", args=[state.code.id])
    status = 200
    form = ClaimForm(pets=state.pets)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?{urlencode({'next': here})}")
        form = ClaimForm(request.POST, pets=state.pets)
        if state.state == "linked":
            status = 409
            messages.error(
                request, _("This tag is already linked to a pet. It cannot be claimed again.")
            )
        elif form.is_valid():
            try:
                code = claim.tag_claim(
                    actor=request.user,
                    code_id=state.code.id,
                    pet_id=form.cleaned_data["pet"],
                    client_address=client_ip(request),
                )
            except (Conflict, TooMany, Invalid, Forbidden, NotFound) as exc:
                status = exc.status
                messages.error(request, exc.message)
                state = claim.tag_state(user=request.user, code_id=code_id)
                form = ClaimForm(pets=state.pets)
            else:
                pet = _linked_pet(request, code)
                messages.success(
                    request,
                    _("Done: this tag now leads to %(name)s's page.")
                    % {"name": pet.name if pet else ""},
                )
                return redirect(here)
        else:
            status = 400
    context = {
        "code": state.code,
        "state": state.state,
        "may_link": state.may_link,
        "form": form,
        "pet": _linked_pet(request, state.code) if state.state == "linked" else None,
        "next": urlencode({"next": here}),
    }
    return render(request, "qr/tag_claim.html", context, status=status)
