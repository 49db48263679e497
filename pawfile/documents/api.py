"""``/api/v1`` endpoints for documents: the pet health report PDF and the wallet cards.

Mounted in ``pawfile.config.api`` with ``api.add_router("/", documents_router)``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Router, Schema

from pawfile.accounts.models import User
from pawfile.documents.report import report_get
from pawfile.documents.views import pdf_download
from pawfile.documents.wallet import apple, google
from pawfile.documents.wallet.data import content_of, pass_content
from pawfile.documents.wallet.errors import WalletUnavailable
from pawfile.documents.wallet.status import wallet_states
from pawfile.documents.wallet.views import pkpass_download
from pawfile.lib.api import Id, responses
from pawfile.lib.openapi import file_response
from pawfile.pets.selectors import pet_get

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


class WalletConfigured(Schema):
    apple: bool
    google: bool


class WalletMessages(Schema):
    apple: str
    google: str


class WalletOut(Schema):
    apple_url: str | None
    google_url: str | None
    configured: WalletConfigured
    messages: WalletMessages


@router.get(
    "/pets/{pet_id}/wallet",
    url_name="pet_wallet",
    summary="A pet's wallet cards",
    response=responses({200: WalletOut}),
)
def pet_wallet(request: HttpRequest, pet_id: Id) -> dict:
    """Where to get the pet's wallet cards: `apple_url` downloads the Apple Wallet pass
    (`.pkpass`, same authentication as this call), `google_url` is the "Save to Google
    Wallet" link to open in a browser. A wallet the server is not set up for has a `null`
    URL, `configured` false and, in `messages`, what the administrator must set.
    Any member of the pet's household may ask; others get 404."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    pet = pet_get(user=user, pet_id=pet_id)
    states = wallet_states()
    google_url = None
    if states["google"].ready:
        try:
            google_url = google.save_url(content_of(pet, photo=False))
        except WalletUnavailable:  # the key file changed in between: say it is not there
            google_url = None
    apple_url = None
    if states["apple"].ready:
        apple_url = request.build_absolute_uri(f"{request.path.rstrip('/')}/apple.pkpass")
    return {
        "apple_url": apple_url,
        "google_url": google_url,
        "configured": {"apple": states["apple"].ready, "google": google_url is not None},
        "messages": {"apple": states["apple"].message, "google": states["google"].message},
    }


@router.get(
    "/pets/{pet_id}/wallet/apple.pkpass",
    url_name="pet_wallet_apple_pkpass",
    summary="Download a pet's Apple Wallet pass",
    response=responses({200: None}),
    openapi_extra=file_response("The pet's Apple Wallet pass (`.pkpass`).", (apple.CONTENT_TYPE,)),
)
def pet_wallet_apple(request: HttpRequest, pet_id: Id) -> HttpResponse:
    """The pet's Apple Wallet pass: name, species and breed, microchip, an emergency contact,
    the photo and the QR of its tag. 409 `wallet_not_configured` / `wallet_config_broken`
    when the server is not set up for Apple Wallet; 404 for anyone outside the household."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    content = pass_content(user=user, pet_id=pet_id)
    return pkpass_download(apple.pkpass_build(content), content.name)
