"""Web pages for pets, their photos and notes, and the household's contacts.

Every view reads through ``pets.selectors`` and writes through ``pets.services`` /
``pets.photos`` with the signed-in user as the actor: a stranger gets 404, a role too low
403 (the access rule is ``accounts.access``). A service's refusal re-renders the form with
the message next to the field and status 400 (``lib.webforms``); nothing is stored. One view
serves the full page or, when HTMX asks, the fragment.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pawfile.accounts import selectors as account_selectors
from pawfile.accounts.access import Action, access_of, role_allows
from pawfile.accounts.frame import render_framed
from pawfile.accounts.models import Household, User
from pawfile.lib import registry
from pawfile.lib.csrf import get_token
from pawfile.lib.errors import Forbidden
from pawfile.lib.htmx import is_htmx
from pawfile.lib.webforms import service_refusals
from pawfile.pets import dashboard, photos, selectors, services
from pawfile.pets.breeds import breed_suggestions
from pawfile.pets.choices import PHOTO_SIZES
from pawfile.pets.forms import ContactForm, NoteForm, PetForm, PhotoForm
from pawfile.pets.models import Pet

GET_POST = require_http_methods(["GET", "POST"])
CONTENT_TYPES = {"webp": "image/webp", "jpeg": "image/jpeg"}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _post(request: HttpRequest) -> Any:
    """The POST data of a POST (even an empty one, so the form is bound), else ``None``."""
    return request.POST if request.method == "POST" else None


def _can(role: str | None, action: Action) -> bool:
    """What a member with ``role`` may do (the lists, which come from memberships)."""
    return role_allows(role, action)


def _allows(obj: object, action: Action) -> bool:
    """What the gate that returned ``obj`` (a pet, a household) decided about ``action``."""
    access = access_of(obj)
    return access is not None and access.allows(action)


# --- Pets ----------------------------------------------------------------------------------


@login_required
@require_GET
def pet_list(request: HttpRequest) -> HttpResponse:
    """The user's pets grouped by household; ``?q=`` searches name, breed and microchip."""
    user = _user(request)
    query = request.GET.get("q", "").strip()
    pets = list(selectors.pets_with_primary_photo(selectors.pet_search(user=user, query=query)))
    badges = registry.pet_badges(request=request, pets=pets)  # from other apps (health...)
    for pet in pets:
        pet.badges = badges[pet.pk]  # type: ignore[attr-defined]
    groups = []
    for household in account_selectors.household_list(user=user):
        groups.append(
            {
                "household": household,
                "pets": [p for p in pets if p.household_id == household.pk],
                "can_write": _can(household.role, Action.WRITE),  # type: ignore[attr-defined]
            }
        )
    context = {"groups": groups, "query": query, "found": len(pets)}
    template = "pets/_pet_results.html" if is_htmx(request) else "pets/pet_list.html"
    return render(request, template, context)


def _household_for_new_pet(request: HttpRequest) -> Household | None:
    """The household named by ``?household=``, or the only one the user may add pets to."""
    user = _user(request)
    raw = request.GET.get("household", "")
    if raw:
        if not raw.isdigit():
            raise Http404
        return account_selectors.household_get(
            user=user, household_id=int(raw), action=Action.WRITE
        )
    writable = [
        h
        for h in account_selectors.household_list(user=user)
        if _can(h.role, Action.WRITE)  # type: ignore[attr-defined]
    ]
    if len(writable) == 1:
        return writable[0]
    if not writable:
        raise Forbidden(_("Your role in this household does not allow that."))
    return None


@login_required
@GET_POST
def pet_create(request: HttpRequest) -> HttpResponse:
    household = _household_for_new_pet(request)
    if household is None:
        households = [
            h
            for h in account_selectors.household_list(user=_user(request))
            if _can(h.role, Action.WRITE)  # type: ignore[attr-defined]
        ]
        return render(request, "pets/pet_household_choice.html", {"households": households})
    form = PetForm(_post(request), breed_url=reverse("breed_options"))
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            pet = services.pet_create(
                actor=_user(request), household=household, **form.service_fields()
            )
        if outcome.ok:
            messages.success(request, _("%(name)s was added.") % {"name": pet.name})
            return redirect("pet_detail", pet_id=pet.pk)
    return _pet_form(request, form, household=household, pet=None)


def _pet_form(
    request: HttpRequest, form: PetForm, *, household: Household, pet: Pet | None
) -> HttpResponse:
    species = form["species"].value() or (pet.species if pet else "")
    context = {
        "form": form,
        "household": household,
        "pet": pet,
        "breeds": breed_suggestions(str(species)),
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "pets/pet_form.html", context, status=status)


@login_required
@GET_POST
def pet_edit(request: HttpRequest, pet_id: int) -> HttpResponse:
    pet = selectors.pet_get(user=_user(request), pet_id=pet_id, action=Action.WRITE)
    form = PetForm(
        _post(request), initial=PetForm.initial_for(pet), breed_url=reverse("breed_options")
    )
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            services.pet_update(actor=_user(request), pet=pet, **form.service_fields())
        if outcome.ok:
            messages.success(request, _("The changes were saved."))
            return redirect("pet_detail", pet_id=pet.pk)
    return _pet_form(request, form, household=pet.household, pet=pet)


@login_required
@require_GET
def pet_detail(request: HttpRequest, pet_id: int) -> HttpResponse:
    """The pet's dashboard. The gate runs on every request; the cards come from the cache
    when this state of the pet was drawn before (``pets.dashboard``), the page around them
    when this state of the shell was (``accounts.frame``)."""
    pet = selectors.pet_get(user=_user(request), pet_id=pet_id)  # the one access check
    token = get_token(request)  # one masked token for the page: the cards' forms and the shell's
    cards = dashboard.dashboard_html(request, pet, csrf_token=token)
    # The frame around the cards is kept drawn too (accounts.frame): the title reads the name.
    context = {"pet": pet, "csrf_token": token}
    return render_framed(
        request, "pets/pet_detail.html", context, holes={"dashboard": cards}, vary=[pet.name]
    )


@login_required
@GET_POST
def pet_delete(request: HttpRequest, pet_id: int) -> HttpResponse:
    """Ask, then delete the pet with everything on it (owner only)."""
    pet = selectors.pet_get(user=_user(request), pet_id=pet_id, action=Action.PET_DELETE)
    if request.method == "POST":
        services.pet_delete(actor=_user(request), pet=pet)
        messages.success(request, _("%(name)s was deleted.") % {"name": pet.name})
        return redirect("pet_list")
    return render(request, "pets/pet_confirm_delete.html", {"pet": pet})


@login_required
@require_GET
def breed_options(request: HttpRequest) -> HttpResponse:
    """``<option>`` elements with the breeds of ``?species=`` (for the breed datalist)."""
    breeds = breed_suggestions(request.GET.get("species", ""))
    return render(request, "pets/_breed_options.html", {"breeds": breeds})


# --- Photos --------------------------------------------------------------------------------


def _wants_json(request: HttpRequest) -> bool:
    """The upload script (pets.js) posts with XMLHttpRequest and reads a JSON answer."""
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


@login_required
@GET_POST
def photo_upload(request: HttpRequest, pet_id: int) -> HttpResponse:
    """Add a photo. Refused files answer 400 with the reason; nothing is stored."""
    user = _user(request)
    pet = selectors.pet_get(user=user, pet_id=pet_id, action=Action.WRITE)
    form = PhotoForm(_post(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form, rename={"file": "image"}) as outcome:
            photos.photo_add(
                actor=user,
                pet=pet,
                upload=form.cleaned_data["image"],
                crop=form.crop_box(),
                caption=form.cleaned_data.get("caption") or "",
            )
        if outcome.ok:
            messages.success(request, _("The photo was added."))
            target = reverse("pet_detail", kwargs={"pet_id": pet.pk}) + "#photos"
            if _wants_json(request):
                return JsonResponse({"redirect": target}, status=201)
            return redirect(target)
    status = 400 if form.is_bound and form.errors else 200
    if status == 400 and _wants_json(request):
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        return JsonResponse({"errors": errors}, status=400)
    return render(request, "pets/photo_form.html", {"pet": pet, "form": form}, status=status)


@login_required
@require_POST
def photo_primary(request: HttpRequest, photo_id: int) -> HttpResponse:
    user = _user(request)
    photo = selectors.photo_get(user=user, photo_id=photo_id, action=Action.WRITE)
    photos.photo_set_primary(actor=user, photo=photo)
    messages.success(request, _("That photo is now the main one."))
    return redirect(reverse("pet_detail", kwargs={"pet_id": photo.pet_id}) + "#photos")


@login_required
@require_POST
def photo_delete(request: HttpRequest, photo_id: int) -> HttpResponse:
    user = _user(request)
    photo = selectors.photo_get(user=user, photo_id=photo_id, action=Action.WRITE)
    photos.photo_delete(actor=user, photo=photo)
    messages.success(request, _("The photo was deleted."))
    return redirect(reverse("pet_detail", kwargs={"pet_id": photo.pet_id}) + "#photos")


@login_required
@require_GET
def photo_file(request: HttpRequest, key: Any, variant: str, fmt: str) -> HttpResponseBase:
    """A stored photo variant, for members of the pet's household only (never public media)."""
    if variant not in PHOTO_SIZES or fmt not in CONTENT_TYPES:
        raise Http404
    photo = selectors.photo_get_by_key(user=_user(request), key=key)
    name = photo.path(variant, fmt)
    if not default_storage.exists(name):
        raise Http404
    response = FileResponse(default_storage.open(name, "rb"), content_type=CONTENT_TYPES[fmt])
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Notes ---------------------------------------------------------------------------------


@login_required
@require_GET
def note_list(request: HttpRequest, pet_id: int) -> HttpResponse:
    """The pet's notes, pinned first; ``?q=`` searches them (fragment for HTMX)."""
    user = _user(request)
    pet = selectors.pet_get(user=user, pet_id=pet_id)
    query = request.GET.get("q", "").strip()
    context = {
        "pet": pet,
        "notes": selectors.note_list(user=user, pet=pet, query=query),
        "query": query,
        "can_write": _allows(pet, Action.WRITE),
        "show_authors": True,
    }
    template = "pets/_notes.html" if is_htmx(request) else "pets/note_list.html"
    return render(request, template, context)


@login_required
@GET_POST
def note_create(request: HttpRequest, pet_id: int) -> HttpResponse:
    user = _user(request)
    pet = selectors.pet_get(user=user, pet_id=pet_id, action=Action.WRITE)
    form = NoteForm(_post(request))
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            services.note_create(actor=user, pet=pet, **form.service_fields())
        if outcome.ok:
            messages.success(request, _("The note was saved."))
            return redirect(reverse("pet_detail", kwargs={"pet_id": pet.pk}) + "#notes")
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "pets/note_form.html", {"pet": pet, "form": form}, status=status)


@login_required
@GET_POST
def note_edit(request: HttpRequest, note_id: int) -> HttpResponse:
    user = _user(request)
    note = selectors.note_get(user=user, note_id=note_id, action=Action.WRITE)
    initial = {"title": note.title, "body_html": note.body_html, "pinned": note.pinned}
    form = NoteForm(_post(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            services.note_update(actor=user, note=note, **form.service_fields())
        if outcome.ok:
            messages.success(request, _("The note was saved."))
            return redirect(reverse("pet_detail", kwargs={"pet_id": note.pet_id}) + "#notes")
    context = {"pet": note.pet, "note": note, "form": form}
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "pets/note_form.html", context, status=status)


@login_required
@require_POST
def note_pin(request: HttpRequest, note_id: int) -> HttpResponse:
    """Pin an unpinned note, unpin a pinned one."""
    user = _user(request)
    note = selectors.note_get(user=user, note_id=note_id, action=Action.WRITE)
    services.note_update(actor=user, note=note, pinned=not note.pinned)
    return redirect(reverse("pet_detail", kwargs={"pet_id": note.pet_id}) + "#notes")


@login_required
@require_POST
def note_delete(request: HttpRequest, note_id: int) -> HttpResponse:
    user = _user(request)
    note = selectors.note_get(user=user, note_id=note_id, action=Action.WRITE)
    services.note_delete(actor=user, note=note)
    messages.success(request, _("The note was deleted."))
    return redirect(reverse("pet_detail", kwargs={"pet_id": note.pet_id}) + "#notes")


# --- Contacts ------------------------------------------------------------------------------


@login_required
@require_GET
def contact_list(request: HttpRequest, household_id: int) -> HttpResponse:
    user = _user(request)
    household = account_selectors.household_get(user=user, household_id=household_id)
    context = {
        "household": household,
        "contacts": selectors.contact_list(user=user, household_id=household.pk),
        "can_write": _allows(household, Action.WRITE),
    }
    return render(request, "pets/contact_list.html", context)


def _contact_form_page(
    request: HttpRequest, form: ContactForm, household: Household, contact: Any = None
) -> HttpResponse:
    context = {"form": form, "household": household, "contact": contact}
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "pets/contact_form.html", context, status=status)


@login_required
@GET_POST
def contact_create(request: HttpRequest, household_id: int) -> HttpResponse:
    user = _user(request)
    household = account_selectors.household_get(
        user=user, household_id=household_id, action=Action.WRITE
    )
    pets = selectors.pet_list(user=user, household=household)
    initial: dict[str, Any] = {}
    if request.GET.get("pet", "").isdigit():
        initial["pets"] = [int(request.GET["pet"])]
    form = ContactForm(_post(request), pets=pets, initial=initial)
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            services.contact_create(
                actor=user, household=household, pet_ids=form.pet_ids(), **form.service_fields()
            )
        if outcome.ok:
            messages.success(request, _("The contact was saved."))
            return redirect("contact_list", household_id=household.pk)
    return _contact_form_page(request, form, household)


@login_required
@GET_POST
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    user = _user(request)
    contact = selectors.contact_get(user=user, contact_id=contact_id, action=Action.WRITE)
    household = contact.household
    pets = selectors.pet_list(user=user, household=household)
    form = ContactForm(_post(request), pets=pets, initial=ContactForm.initial_for(contact))
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            services.contact_update(
                actor=user, contact=contact, pet_ids=form.pet_ids(), **form.service_fields()
            )
        if outcome.ok:
            messages.success(request, _("The contact was saved."))
            return redirect("contact_list", household_id=household.pk)
    return _contact_form_page(request, form, household, contact)


@login_required
@GET_POST
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    user = _user(request)
    contact = selectors.contact_get(user=user, contact_id=contact_id, action=Action.WRITE)
    if request.method == "POST":
        services.contact_delete(actor=user, contact=contact)
        messages.success(request, _("The contact was deleted."))
        return redirect("contact_list", household_id=contact.household_id)
    return render(request, "pets/contact_confirm_delete.html", {"contact": contact})
