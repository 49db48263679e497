"""Web pages of the lost-pet app: the public page and the owner's screens.

* ``/p/{slug}`` (``public_page``) is for anyone, signed in or not: it shows only the
  ``selectors.PublicPet`` projection, reads no session state it would write (no cookie is
  set), and its body comes from the cache (``cache.py``) after the first request. Its photo
  ``/p/{slug}/photo/{key}-{variant}.webp`` answers only for the primary photo of a page that
  shows it.
* The owner's screens (``/pets/{id}/public/``, ``/lost/``, ``/found/``, ``/tags/``) go
  through the pet gate: owner and caretaker change, a viewer reads (a change answers 403),
  a stranger gets 404. A service's refusal re-renders the form with the message (400).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotModified,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pawfile.accounts.access import Action, access_of
from pawfile.accounts.context_processors import pawfile as display_context
from pawfile.accounts.models import User
from pawfile.lib.etag import etag_matches
from pawfile.lib.webforms import service_refusals
from pawfile.lostpet import cache, public_html, selectors, services
from pawfile.lostpet.forms import LostForm, PublicSettingsForm
from pawfile.lostpet.models import PublicProfile
from pawfile.pets.choices import PHOTO_SIZES
from pawfile.pets.models import Pet
from pawfile.qr import images as qr_images
from pawfile.qr import services as qr_services

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
PHOTO_MAX_AGE = 300  # the owner may hide the photo: browsers keep it a few minutes at most


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _post(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _can_write(pet: Pet) -> bool:
    access = access_of(pet)
    return access is not None and access.allows(Action.WRITE)


# --- The public page ---------------------------------------------------------------------------


@require_safe
def public_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The pet's public page (see the module docstring); 404 for an unknown slug."""
    stamp = selectors.page_stamp(slug)
    if stamp is None:
        raise Http404
    theme = str(display_context(request)["pawfile_theme"])
    language = translation.get_language() or "en"
    today = timezone.localdate()
    key = cache.page_key(slug=slug, stamp=stamp, language=language, theme=theme, today=today)
    etag = cache.page_etag(key)
    if etag_matches(request.headers.get("If-None-Match"), etag):
        response: HttpResponse = HttpResponseNotModified()
    else:
        cached = settings.PAWFILE_PUBLIC_PAGE_CACHE
        body = cache.page_get(key) if cached else None
        if body is None:
            drawn = public_html.page_draw(slug, theme=theme, today=today)
            if drawn is None:
                raise Http404
            stamp, body = drawn
            key = cache.page_key(
                slug=slug, stamp=stamp, language=language, theme=theme, today=today
            )
            etag = cache.page_etag(key)  # a change between the two reads: the newer key
            if cached:
                cache.page_set(key, body)
        response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["ETag"] = etag
    response_headers_set(response)
    return response


def response_headers_set(response: HttpResponse) -> None:
    """The public page's own headers (the middleware adds the site's security headers)."""
    # Always asked again (lost mode must show at once); a repeat costs a 304.
    response["Cache-Control"] = "no-cache"
    response["Vary"] = "Accept-Language, Cookie"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"


@require_safe
def public_photo(
    request: HttpRequest, slug: str, key: str, variant: str, fmt: str
) -> HttpResponseBase:
    """The primary photo of a public page that shows it; 404 for anything else."""
    if variant not in PHOTO_SIZES or fmt != "webp":
        raise Http404
    photo = selectors.public_photo(slug=slug, key=key)
    if photo is None:
        raise Http404
    name = photo.path(variant, fmt)
    if not default_storage.exists(name):
        raise Http404
    etag = f'"{photo.key}-{variant}"'
    if etag_matches(request.headers.get("If-None-Match"), etag):
        response: HttpResponseBase = HttpResponseNotModified()
    else:
        response = FileResponse(default_storage.open(name, "rb"), content_type="image/webp")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={PHOTO_MAX_AGE}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- What finders see --------------------------------------------------------------------------


def _preview(request: HttpRequest, profile: PublicProfile) -> SafeString:
    """The public page's own card for ``profile`` (saved or not), in the site's zone."""
    public = selectors.public_pet(profile=profile, pet=profile.pet, today=timezone.localdate())
    with timezone.override(None):
        return public_html.card_html(public)


@login_required
@GET_POST
def public_settings(request: HttpRequest, pet_id: int) -> HttpResponse:
    """The switches of the public page with a live preview (the public page's own card)."""
    action = Action.WRITE if request.method == "POST" else Action.VIEW
    profile = selectors.profile_get(user=_user(request), pet_id=pet_id, action=action, make=False)
    pet = profile.pet
    form = PublicSettingsForm(_post(request), initial=PublicSettingsForm.initial_for(profile))
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            services.profile_update(actor=_user(request), pet=pet, **form.service_fields())
        if outcome.ok:
            messages.success(request, _("Saved. Finders now see what the preview shows."))
            return redirect("lostpet:public_settings", pet_id=pet.pk)
    can_write = _can_write(pet)
    if not can_write:
        for field in form.fields.values():
            field.disabled = True
    context = {
        "pet": pet,
        "profile": profile,
        "form": form,
        "can_write": can_write,
        "public_card": _preview(request, form.applied_to(profile) if form.is_bound else profile),
        "public_url": _public_url(request, profile),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "lostpet/public_settings.html", context, status=status)


@login_required
@require_POST
def public_preview(request: HttpRequest, pet_id: int) -> HttpResponse:
    """The preview card for the submitted (unsaved) choices (HTMX, on every change)."""
    profile = selectors.profile_get(
        user=_user(request), pet_id=pet_id, action=Action.WRITE, make=False
    )
    form = PublicSettingsForm(request.POST, initial=PublicSettingsForm.initial_for(profile))
    preview = form.applied_to(profile)
    preview.pet = profile.pet
    return render(request, "lostpet/_preview.html", {"public_card": _preview(request, preview)})


# --- Lost mode ---------------------------------------------------------------------------------


@login_required
@GET_POST
def lost_mode(request: HttpRequest, pet_id: int) -> HttpResponse:
    """Mark the pet lost (or change the details while it is); the "found" button."""
    action = Action.WRITE if request.method == "POST" else Action.VIEW
    profile = selectors.profile_get(user=_user(request), pet_id=pet_id, action=action, make=False)
    pet = profile.pet
    form = LostForm(_post(request), initial=LostForm.initial_for(profile))
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            services.lost_mark(actor=_user(request), pet=pet, **form.service_fields())
        if outcome.ok:
            messages.warning(
                request,
                _("%(name)s is marked lost. Every scan of a tag now alerts you.")
                % {"name": pet.name},
            )
            return redirect("lostpet:lost_mode", pet_id=pet.pk)
    can_write = _can_write(pet)
    if not can_write:
        for field in form.fields.values():
            field.disabled = True
    context = {"pet": pet, "profile": profile, "form": form, "can_write": can_write}
    status = 400 if request.method == "POST" else 200
    return render(request, "lostpet/lost_mode.html", context, status=status)


@login_required
@require_POST
def found(request: HttpRequest, pet_id: int) -> HttpResponse:
    profile = selectors.profile_get(
        user=_user(request), pet_id=pet_id, action=Action.WRITE, make=False
    )
    was_lost = profile.is_lost
    services.found_mark(actor=_user(request), pet=profile.pet)
    if was_lost:
        messages.success(request, _("Welcome home, %(name)s!") % {"name": profile.pet.name})
    return redirect("pet_detail", pet_id=profile.pet.pk)


# --- Tags --------------------------------------------------------------------------------------


def tag_rows(codes: Any) -> list[dict[str, Any]]:
    """What the tags screen and panel show of each code: the code, its scan address and
    the addresses of its images."""
    rows = []
    for code in codes:
        version = qr_images.image_etag(code).strip('"')
        images = {
            kind: reverse("qr_code_image", kwargs={"code_id": code.id, "kind": kind})
            + f"?v={version}"
            for kind in ("png", "svg", "pdf")
        }
        rows.append({"code": code, "scan_url": qr_images.scan_url(code), "images": images})
    return rows


@login_required
@require_safe
def tags(request: HttpRequest, pet_id: int) -> HttpResponse:
    """The pet's tags (print, unlink), the household's unlinked tags (link here), a new one."""
    profile = selectors.profile_get(user=_user(request), pet_id=pet_id, make=False)
    pet = profile.pet
    user = _user(request)
    context = {
        "pet": pet,
        "profile": profile,
        "rows": tag_rows(selectors.tags_of_pet(user=user, pet=pet)),
        "unlinked": list(selectors.tags_unlinked(user=user, pet=pet)),
        "can_write": _can_write(pet),
    }
    return render(request, "lostpet/tags.html", context)


@login_required
@require_POST
def tag_create(request: HttpRequest, pet_id: int) -> HttpResponse:
    profile = selectors.profile_get(
        user=_user(request), pet_id=pet_id, action=Action.WRITE, make=False
    )
    with service_refusals(request) as outcome:
        code = qr_services.pet_code_create(actor=_user(request), pet=profile.pet)
    if outcome.ok:
        messages.success(request, _("New tag %(id)s made. Print it below.") % {"id": code.id})
    return redirect("lostpet:tags", pet_id=profile.pet.pk)


@login_required
@require_POST
def tag_link(request: HttpRequest, pet_id: int) -> HttpResponse:
    """Link one of the household's tags (unlinked, or another pet's) to this pet."""
    profile = selectors.profile_get(
        user=_user(request), pet_id=pet_id, action=Action.WRITE, make=False
    )
    code_id = request.POST.get("code_id", "").strip().lower()
    if not code_id:
        messages.error(request, _("Choose a tag."))
    else:
        with service_refusals(request) as outcome:
            qr_services.pet_code_link(actor=_user(request), code_id=code_id, pet=profile.pet)
        if outcome.ok:
            messages.success(request, _("The tag now leads to this page."))
    return redirect("lostpet:tags", pet_id=profile.pet.pk)


@login_required
@require_POST
def tag_unlink(request: HttpRequest, pet_id: int, code_id: str) -> HttpResponse:
    profile = selectors.profile_get(
        user=_user(request), pet_id=pet_id, action=Action.WRITE, make=False
    )
    if not selectors.tags_of_pet(user=_user(request), pet=profile.pet).filter(pk=code_id).exists():
        raise Http404
    qr_services.pet_code_unlink(actor=_user(request), code_id=code_id)
    messages.success(request, _("The tag is unlinked. You can link it again below."))
    return redirect("lostpet:tags", pet_id=profile.pet.pk)


# --- The pet page's panel ----------------------------------------------------------------------


def _public_url(request: HttpRequest, profile: PublicProfile) -> str:
    """The public page's full address; ``""`` while the pet has no profile yet."""
    if not profile.slug:
        return ""
    path = reverse("lostpet:public_page", kwargs={"slug": profile.slug})
    return request.build_absolute_uri(path)


def pet_panel_context(request: HttpRequest, pet: Pet) -> dict[str, Any]:
    """The pet page's "If lost" card. Writes nothing: a pet whose page was never set up
    shows the defaults (no address yet). Cached by the pet's revision, which every change
    of the profile and of the pet's tags bumps (``services``, ``qr.services``)."""
    user = _user(request)
    profile = services.profile_or_default(pet)
    codes = selectors.tags_of_pet(user=user, pet=pet)
    return {
        "lostpet_profile": profile,
        "lostpet_public_url": _public_url(request, profile),
        "lostpet_tag_count": codes.count(),
        "lostpet_can_write": _can_write(pet),
    }
