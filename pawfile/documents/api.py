"""``/api/v1`` endpoints for documents: the pet health report PDF.

Mounted in ``pawfile.config.api`` with ``api.add_router("/", documents_router)``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Router

from pawfile.accounts.models import User
from pawfile.documents.report import report_get
from pawfile.documents.views import pdf_download
from pawfile.lib.api import Id, responses
from pawfile.lib.openapi import file_response

router = Router(tags=["documents"])


@router.get(
    "/pets/{pet_id}/report.pdf",
    url_name="pet_report_pdf",
    summary="Download a pet's health report",
    response=responses({200: None}),
    openapi_extra=file_response(
        "The health report (PDF), in the language of `Accept-Language`.", ("application/pdf",)
    ),
)
def pet_report_pdf(request: HttpRequest, pet_id: Id) -> HttpResponse:
    """The pet's health report as a PDF: profile, contacts, vaccines with due status,
    deworming, current medication, allergies, recent visits and a weight chart.
    Any member of the pet's household may download it; others get 404."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    report = report_get(user=user, pet_id=pet_id, lang=get_language())
    return pdf_download(report.pdf, report.pet.name)
