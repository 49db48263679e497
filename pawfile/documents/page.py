"""Documents that print a pet's public page address, and the POST that makes the page.

A poster or a wallet card of a pet with no tag prints the address of its public page
(``/p/{slug}``). The slug is random (``lostpet.services.slug_new``) and exists only once the
page's row is made, and a printed address must keep leading to the pet, so the page cannot
be made up on the fly and thrown away. Reading it must not make it either (a GET writes
nothing). So these downloads answer a GET for a pet with neither tag nor page with a short
page holding one button; its POST (to the same address, CSRF-checked) makes the page
(``profile_for_pet``, the defaults: name and photo, species, sex and age, contacts behind
the finder form) and sends the browser back to the GET with a 303, which then downloads.
We chose this over a slug derived from the pet without a row: the public page would then
have to answer slugs it has no row for, and a derived slug could never be changed.

Access: whoever may download the document (every member of the household) may make the
page this way, as making a tag or asking for a document always did.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from pawfile.lostpet.services import profile_for_pet
from pawfile.pets.models import Pet


def page_make(request: HttpRequest, pet: Pet) -> HttpResponse:
    """The POST: make ``pet``'s public page (access checked by the caller) and 303 back to
    the same address (query kept), whose GET now downloads."""
    profile_for_pet(pet)
    response = HttpResponseRedirect(request.get_full_path())
    response.status_code = 303
    return response


def page_ask(request: HttpRequest, pet: Pet) -> HttpResponse:
    """The GET's answer while ``pet`` has no public page (nor tag): the one-button page."""
    response = render(
        request, "documents/page_needed.html", {"pet": pet, "action": request.get_full_path()}
    )
    response["Cache-Control"] = "private, no-store"
    return response
