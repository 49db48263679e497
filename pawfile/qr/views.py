"""Web pages of the QR codes app: the management pages (QR managers, from allowed
addresses) and the public images ``/q/{id}.png|.svg|.pdf``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pawfile.lib.dates import user_today
from pawfile.lib.etag import etag_matches
from pawfile.lib.webforms import service_refusals
from pawfile.qr import access, images, selectors, services
from pawfile.qr.chart import scans_chart
from pawfile.qr.forms import CodeForm
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
