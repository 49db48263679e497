"""``/api/v1`` endpoints for documents: the pet health report PDF and the wallet cards.

Mounted in ``pawfile.config.api`` with ``api.add_router("/", documents_router)``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from pawfile.accounts.models import User
from pawfile.documents.report import report_get
from pawfile.documents.views import pdf_download
from pawfile.documents.wallet import apple, google
from pawfile.documents.wallet.data import PassContent, content_of, pass_content
from pawfile.documents.wallet.errors import WalletUnavailable
from pawfile.documents.wallet.status import wallet_states
from pawfile.documents.wallet.views import pkpass_download
from pawfile.lib.api import Id, responses
from pawfile.lib.errors import Conflict
from pawfile.lib.openapi import file_response
from pawfile.lostpet.services import profile_for_pet
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
    public_page_missing: bool = Field(
        description="The pet has neither tag nor public page, so a card would have no QR: "
        "`google_url` is null until the page exists, and a GET of `apple_url` answers 409 "
        "`public_page_missing`. `POST` to `apple_url` (or any change of the public page) "
        "makes the page. Reading never makes it."
    )


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
    content = content_of(pet, photo=False)
    google_url = None
    google_message = states["google"].message
    if states["google"].ready and content.page_missing:
        google_message = _page_missing_message()
    elif states["google"].ready:
        try:
            google_url = google.save_url(content)
        except WalletUnavailable:  # the key file changed in between: say it is not there
            google_url = None
    apple_url = None
    if states["apple"].ready:
        apple_url = request.build_absolute_uri(f"{request.path.rstrip('/')}/apple.pkpass")
    return {
        "apple_url": apple_url,
        "google_url": google_url,
        "configured": {
            "apple": states["apple"].ready,
            "google": google_url is not None or (states["google"].ready and content.page_missing),
        },
        "messages": {"apple": states["apple"].message, "google": google_message},
        "public_page_missing": content.page_missing,
    }


def _page_missing_message() -> str:
    return _(
        "The pet has no tag and no public page yet, so the card would have no QR code. "
        "Make the public page first."
    )


def _pkpass(content: PassContent) -> HttpResponse:
    if content.page_missing and wallet_states()["apple"].ready:
        raise Conflict(_page_missing_message(), code="public_page_missing")
    return pkpass_download(apple.pkpass_build(content), content.name)


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
    when the server is not set up for Apple Wallet; 404 for anyone outside the household.
    409 `public_page_missing` when the pet has neither tag nor public page (a GET makes
    nothing; `POST` makes the page and answers the pass)."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return _pkpass(pass_content(user=user, pet_id=pet_id))


@router.post(
    "/pets/{pet_id}/wallet/apple.pkpass",
    url_name="pet_wallet_apple_pkpass_make",
    summary="Make a pet's public page if needed and download its Apple Wallet pass",
    response=responses({200: None}),
    openapi_extra=file_response("The pet's Apple Wallet pass (`.pkpass`).", (apple.CONTENT_TYPE,)),
)
def pet_wallet_apple_make(request: HttpRequest, pet_id: Id) -> HttpResponse:
    """As the GET, but a pet with neither tag nor public page first gets its public page
    (the defaults: name and photo, species, sex and age; finders reach you through the
    form), whose address the card's QR then carries. Same access as the GET."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    pet = pet_get(user=user, pet_id=pet_id)
    content = content_of(pet)
    if content.page_missing and wallet_states()["apple"].ready:
        profile_for_pet(pet)
        content = content_of(pet)
    return _pkpass(content)
