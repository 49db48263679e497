"""The lost poster download: ``GET /pets/{id}/poster.pdf?lang=en|es``.

The GET writes nothing; for a pet with neither tag nor public page it answers a one-button
page whose POST (same address) makes the page and comes back (``documents.page``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.text import slugify
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from pawfile.accounts.models import User
from pawfile.documents.page import page_ask, page_make
from pawfile.documents.poster import PageMissing, poster_get
from pawfile.pets.selectors import pet_get


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def pet_poster(request: HttpRequest, pet_id: int) -> HttpResponse:
    """The pet's lost poster in ``?lang=`` (``en`` or ``es``; else the page's language).
    Any member of the household may print it; a stranger gets 404. POST makes the public
    page first."""
    user = request.user
    assert isinstance(user, User)
    if request.method == "POST":
        return page_make(request, pet_get(user=user, pet_id=pet_id))
    lang = request.GET.get("lang") or get_language()
    try:
        poster = poster_get(user=user, pet_id=pet_id, lang=lang)
    except PageMissing as missing:
        return page_ask(request, missing.pet)
    name = poster.pet.name
    ascii_name = f"{slugify(name) or 'pet'}-lost-poster.pdf"
    full_name = quote(f"{name}-lost-poster.pdf", safe="")
    response = HttpResponse(poster.pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{full_name}"
    )
    response["Content-Length"] = str(len(poster.pdf))
    response["Cache-Control"] = "private, no-store"
    return response


def poster_action_context(request: HttpRequest, pet: Any) -> dict[str, Any]:
    """The pet page's "Lost poster" buttons: shown while the pet is lost."""
    from pawfile.lostpet.models import PublicProfile

    lost = PublicProfile.objects.filter(pet_id=pet.pk, is_lost=True).exists()
    return {"documents_pet_lost": lost}
