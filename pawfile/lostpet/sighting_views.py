"""Pages of finder reports: the finder's form, and the owners' list of sightings.

The finder's form, ``/p/{slug}/found/``: the public page is cached (the same HTML for every
visitor), so it cannot carry a visitor's CSRF token. It holds only a link to this page;
with JavaScript, HTMX loads the form from here into the public page at once
(``lostpet/_finder_form.html``). This response is never cached, and rendering its token sets
the visitor's CSRF cookie, so the POST passes Django's ordinary CSRF check, with or
without JavaScript.

Answers: a report sent → the thank-you (303 to ``?sent=1`` without JavaScript, the fragment
with it); bad input → the form with the errors (400); too many reports → 429 with a page that
says how long to wait; a filled honeypot → the same thank-you, nothing stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pawfile.accounts.access import Action, access_of
from pawfile.accounts.models import User
from pawfile.lib.clientip import client_ip
from pawfile.lib.htmx import is_htmx
from pawfile.lib.webforms import service_refusals
from pawfile.lostpet import selectors as lostpet_selectors
from pawfile.lostpet import sightings
from pawfile.lostpet.sighting_forms import FinderForm, ReplyForm

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png"}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


# --- The finder --------------------------------------------------------------------------------


def _finder_render(
    request: HttpRequest, profile: Any, form: FinderForm, *, status: int = 200, sent: bool = False
) -> HttpResponse:
    public = lostpet_selectors.public_pet(
        profile=profile, pet=profile.pet, today=timezone.localdate()
    )
    context = {"public": public, "form": form, "sent": sent}
    template = (
        "lostpet/sightings_form.html" if is_htmx(request) else "lostpet/sightings_report.html"
    )
    return render(request, template, context, status=status)


@never_cache
@GET_POST
def finder_report(request: HttpRequest, slug: str) -> HttpResponse:
    """The finder's form of the pet ``slug`` (anyone may use it; 404 for an unknown slug)."""
    profile = sightings.profile_by_slug(slug=slug)
    if request.method != "POST":
        return _finder_render(request, profile, FinderForm(), sent=request.GET.get("sent") == "1")
    form = FinderForm(request.POST, request.FILES)
    if form.is_bot():
        return _finder_sent(request, profile)
    if not form.is_valid():
        return _finder_render(request, profile, form, status=400)
    with service_refusals(request, form=form) as outcome:
        sightings.sighting_report(
            profile=profile, report=form.report(), client_address=client_ip(request)
        )
    if isinstance(outcome.error, sightings.ReportsLimited):
        return _too_many(request, profile, outcome.error)
    if not outcome.ok:
        return _finder_render(request, profile, form, status=400)
    return _finder_sent(request, profile)


def _finder_sent(request: HttpRequest, profile: Any) -> HttpResponse:
    if is_htmx(request):
        return _finder_render(request, profile, FinderForm(), sent=True)
    response = redirect(reverse("lostpet:finder", kwargs={"slug": profile.slug}) + "?sent=1")
    response.status_code = 303  # "see other": the browser GETs the thank-you
    return response


def _too_many(request: HttpRequest, profile: Any, exc: sightings.ReportsLimited) -> HttpResponse:
    context = {"message": exc.message, "slug": profile.slug}
    template = (
        "lostpet/sightings_limited_fragment.html"
        if is_htmx(request)
        else "lostpet/sightings_limited.html"
    )
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


# --- The owners --------------------------------------------------------------------------------


def _can_write(obj: Any) -> bool:
    access = access_of(obj)
    return access is not None and access.allows(Action.WRITE)


@login_required
@require_safe
def sighting_list(request: HttpRequest, pet_id: int) -> HttpResponse:
    """Every report about the pet, newest first, with the reply form (members only)."""
    pet, found = sightings.sighting_list(user=_user(request), pet_id=pet_id)
    rows = list(found[:200])
    items: list[dict[str, Any]] = [
        {
            "sighting": s,
            "contact": sightings.finder_contact(s),
            "map_url": sightings.map_url(s.latitude, s.longitude),
        }
        for s in rows
    ]
    context = {
        "pet": pet,
        "items": items,
        "can_write": _can_write(pet),
        "reply_form": ReplyForm(),
        "unread": sum(1 for s in rows if s.read_at is None),
    }
    return render(request, "lostpet/sightings_list.html", context)


@login_required
@require_POST
def sighting_read(request: HttpRequest, sighting_id: int) -> HttpResponse:
    """Mark a report read (``read=0`` marks it unread again)."""
    read = request.POST.get("read", "1") != "0"
    sighting = sightings.sighting_mark_read(
        actor=_user(request), sighting_id=sighting_id, read=read
    )
    return redirect("lostpet:sightings", pet_id=sighting.profile.pet_id)


@login_required
@require_POST
def sightings_read_all(request: HttpRequest, pet_id: int) -> HttpResponse:
    sightings.sightings_mark_all_read(actor=_user(request), pet_id=pet_id)
    return redirect("lostpet:sightings", pet_id=pet_id)


@login_required
@require_POST
def sighting_reply(request: HttpRequest, sighting_id: int) -> HttpResponse:
    """Answer a report; mailed to the finder when they left an email."""
    sighting = sightings.sighting_get(
        user=_user(request), sighting_id=sighting_id, action=Action.WRITE
    )
    form = ReplyForm(request.POST)
    if form.is_valid():
        with service_refusals(request, form=form) as outcome:
            reply = sightings.sighting_reply(
                actor=_user(request), sighting_id=sighting.pk, body=form.cleaned_data["body"]
            )
        if outcome.ok:
            if reply.mailed:
                messages.success(request, _("Your answer was sent to the finder."))
            else:
                messages.info(
                    request,
                    _("Saved. The finder left no email, so they cannot receive it."),
                )
            return redirect("lostpet:sightings", pet_id=sighting.profile.pet_id)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))
    return redirect("lostpet:sightings", pet_id=sighting.profile.pet_id)


@login_required
@require_POST
def sighting_delete(request: HttpRequest, sighting_id: int) -> HttpResponse:
    sighting = sightings.sighting_get(
        user=_user(request), sighting_id=sighting_id, action=Action.WRITE
    )
    sightings.sighting_delete(actor=_user(request), sighting_id=sighting.pk)
    return redirect("lostpet:sightings", pet_id=sighting.profile.pet_id)


@login_required
@require_safe
def sighting_photo(request: HttpRequest, sighting_id: int) -> HttpResponseBase:
    """A finder's photo, for members of the pet's household only."""
    name = sightings.sighting_photo_name(user=_user(request), sighting_id=sighting_id)
    extension = name.rsplit(".", 1)[-1]
    if extension not in PHOTO_TYPES or not default_storage.exists(name):
        raise Http404
    response = FileResponse(default_storage.open(name, "rb"), content_type=PHOTO_TYPES[extension])
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
