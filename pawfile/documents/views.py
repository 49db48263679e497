"""Downloads of generated documents: the pet health report PDF."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.text import slugify
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from pawfile.accounts.models import User
from pawfile.documents.report import report_get


def pdf_download(pdf: bytes, name: str) -> HttpResponse:
    """``pdf`` as an attachment named ``<name>-health-report.pdf``.

    ``filename`` is a plain ASCII version for old clients; ``filename*`` keeps the pet's real
    name (accents and all) for the browsers that read it. The document holds household
    data, so no shared cache may keep it.
    """
    ascii_name = f"{slugify(name) or 'pet'}-health-report.pdf"
    full_name = quote(f"{name}-health-report.pdf", safe="")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{full_name}"
    )
    response["Content-Length"] = str(len(pdf))
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_safe
def pet_report(request: HttpRequest, pet_id: int) -> HttpResponse:
    """The pet's health report in the request's language (404 for strangers)."""
    user = request.user
    assert isinstance(user, User)
    report = report_get(user=user, pet_id=pet_id, lang=get_language())
    return pdf_download(report.pdf, report.pet.name)
