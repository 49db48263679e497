"""The wallet buttons of the pet page and what they lead to.

``GET /pets/{id}/wallet/apple.pkpass`` downloads the pet's Apple Wallet pass;
``GET /pets/{id}/wallet/google`` redirects to its "Save to Google Wallet" link. Both for
anyone who may see the pet (a stranger gets 404, an anonymous visitor the sign-in page).
When a wallet is not set up, or set up wrongly, they answer 409 with a page that says which
setting to look at, never a 500. A GET writes nothing: for a pet with neither tag nor public
page it answers a one-button page whose POST to the same address makes the page and comes
back (``documents.page``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods

from pawfile.accounts.models import User
from pawfile.documents.page import page_ask, page_make
from pawfile.documents.wallet import apple, google
from pawfile.documents.wallet.data import content_of
from pawfile.documents.wallet.errors import WalletUnavailable
from pawfile.documents.wallet.status import wallet_states
from pawfile.pets.models import Pet
from pawfile.pets.selectors import pet_get


def pkpass_download(data: bytes, name: str) -> HttpResponse:
    """``data`` as ``<name>.pkpass`` (an ASCII ``filename`` and the real name in
    ``filename*``), never kept by a shared cache."""
    ascii_name = f"{slugify(name) or 'pet'}.pkpass"
    full_name = quote(f"{name}.pkpass", safe="")
    response = HttpResponse(data, content_type=apple.CONTENT_TYPE)
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{full_name}"
    )
    response["Content-Length"] = str(len(data))
    response["Cache-Control"] = "private, no-store"
    return response


def _unavailable(request: HttpRequest, pet_id: int, error: WalletUnavailable) -> HttpResponse:
    return render(
        request,
        "documents/wallet_unavailable.html",
        {"pet_id": pet_id, "error": error},
        status=error.status,
    )


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def wallet_apple(request: HttpRequest, pet_id: int) -> HttpResponse:
    """The pet's ``.pkpass`` (404 for strangers, 409 page when Apple Wallet is not set up);
    POST makes the public page first."""
    pet = pet_get(user=_user(request), pet_id=pet_id)
    if request.method == "POST":
        return page_make(request, pet)
    content = content_of(pet)
    if content.page_missing and wallet_states()["apple"].ready:
        return page_ask(request, pet)
    try:
        data = apple.pkpass_build(content)
    except WalletUnavailable as exc:
        return _unavailable(request, pet_id, exc)
    return pkpass_download(data, content.name)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def wallet_google(request: HttpRequest, pet_id: int) -> HttpResponse:
    """A redirect to the pet's "Save to Google Wallet" link (same refusals as above; POST
    makes the public page first)."""
    pet = pet_get(user=_user(request), pet_id=pet_id)
    if request.method == "POST":
        return page_make(request, pet)
    content = content_of(pet, photo=False)
    if content.page_missing and wallet_states()["google"].ready:
        return page_ask(request, pet)
    try:
        url = google.save_url(content)
    except WalletUnavailable as exc:
        return _unavailable(request, pet_id, exc)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response


def pet_panel_context(request: HttpRequest, pet: Pet) -> Mapping[str, Any]:
    """The wallet card of the pet page: each wallet ready, or what to set."""
    states = wallet_states()
    return {
        "documents_wallet_apple": states["apple"],
        "documents_wallet_google": states["google"],
        "documents_wallet_states": list(states.items()),
    }
