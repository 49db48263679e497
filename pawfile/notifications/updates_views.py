"""Pages of pet updates: write one (with "Draft it for me"), the updates you received, one
update, and muting a sender. A pet the person may not see, or an update they neither sent
nor received, is 404. Every change is a POST."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pawfile.accounts.access import Action, access_of
from pawfile.accounts.models import User
from pawfile.lib.errors import TooMany
from pawfile.lib.htmx import is_htmx
from pawfile.lib.webforms import service_refusals
from pawfile.notifications import ai, updates
from pawfile.notifications.models import PetUpdate
from pawfile.pets.forms import IMAGE_TYPES


class PetUpdateForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("What happened? (for the draft)"),
        max_length=ai.NOTE_MAX,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Played in the snow")}),
    )
    title = forms.CharField(
        label=gettext_lazy("Title"), max_length=updates.TITLE_MAX, required=False
    )
    body = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=updates.BODY_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photo = forms.FileField(
        label=gettext_lazy("Photo (optional)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": IMAGE_TYPES}),
    )
    drafted = forms.CharField(required=False, widget=forms.HiddenInput)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required
@require_http_methods(["GET", "POST"])
def pet_update_new(request: HttpRequest, pet_id: int) -> HttpResponse:
    """The form. ``action=draft`` fills title and text from the provider or the template
    (an HTMX request gets the form alone); any other POST sends."""
    user = _user(request)
    pet = updates.update_pet(user=user, pet_id=pet_id)
    access = access_of(pet)
    can_photo = access is not None and access.allows(Action.WRITE)
    status = 200
    if request.method == "POST":
        form = PetUpdateForm(request.POST, request.FILES)
        if request.POST.get("action") == "draft":
            note = request.POST.get("note", "")[: ai.NOTE_MAX]
            draft = updates.update_draft(user=user, pet_id=pet.pk, note=note)
            data = request.POST.copy()
            data["title"], data["body"] = draft.title, draft.body
            data["drafted"] = (
                PetUpdate.Drafted.AI if draft.source == "ai" else PetUpdate.Drafted.TEMPLATE
            )
            form = PetUpdateForm(data)
            context = {"pet": pet, "form": form, "can_photo": can_photo, "draft": draft}
            if is_htmx(request):
                return render(request, "notifications/_update_form.html", context)
            return render(request, "notifications/update_form.html", context)
        outcome = None
        if form.is_valid():
            with service_refusals(request, form=form) as outcome:
                update = updates.pet_update_send(
                    sender=user,
                    pet_id=pet.pk,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                    photo=form.cleaned_data.get("photo") if can_photo else None,
                    drafted=form.cleaned_data.get("drafted") or PetUpdate.Drafted.SENDER,
                )
            if outcome.ok:
                count = update.recipients.count()
                if count:
                    messages.success(
                        request,
                        ngettext(
                            "Update sent to %(count)d person.",
                            "Update sent to %(count)d people.",
                            count,
                        )
                        % {"count": count},
                    )
                else:
                    messages.info(
                        request, _("Saved. Nobody else in the household gets updates now.")
                    )
                return redirect("pet_update_detail", update_id=update.pk)
        status = 429 if outcome is not None and isinstance(outcome.error, TooMany) else 400
    else:
        form = PetUpdateForm()
    return render(
        request,
        "notifications/update_form.html",
        {"pet": pet, "form": form, "can_photo": can_photo, "draft": None},
        status=status,
    )


@login_required
@require_GET
def pet_update_list(request: HttpRequest) -> HttpResponse:
    """The updates the person received, and the senders they muted."""
    from pawfile.pets.photos import photo_url

    user = _user(request)
    received = list(updates.updates_received(user=user)[:50])
    for update in received:
        update.photo_src = photo_url(update.photo) if update.photo is not None else ""  # type: ignore[attr-defined]
    return render(
        request,
        "notifications/update_list.html",
        {"updates": received, "mutes": updates.mutes_of(user=user)},
    )


@login_required
@require_GET
def pet_update_detail(request: HttpRequest, update_id: int) -> HttpResponse:
    user = _user(request)
    update = updates.update_get(user=user, update_id=update_id)
    photo_url = None
    if update.photo is not None:
        from pawfile.pets.photos import photo_url as make_url

        photo_url = make_url(update.photo, "full")
    return render(
        request,
        "notifications/update_detail.html",
        {
            "update": update,
            "photo_url": photo_url,
            "sender_muted": updates.muted(user=user, sender_id=update.sender_id),
            "mine": update.sender_id == user.pk,
        },
    )


@login_required
@require_POST
def pet_update_mute(request: HttpRequest, user_id: int) -> HttpResponse:
    """``mute=1`` mutes pet updates from ``user_id``; ``mute=0`` unmutes."""
    mute = request.POST.get("mute", "1") != "0"
    updates.update_mute(user=_user(request), sender_id=user_id, mute=mute)
    messages.success(
        request,
        _("You will no longer get their pet updates.")
        if mute
        else _("Their pet updates reach you again."),
    )
    back = request.POST.get("next", "")
    from django.utils.http import url_has_allowed_host_and_scheme

    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("pet_update_list")
