"""Web pages of the notifications app: the inbox, the live poll, the settings page and the
one-click unsubscribe.

Only the recipient sees or changes a notification (anyone else gets 404). Every change is a
POST; a GET never changes anything (the unsubscribe link's GET shows a confirmation page).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pawfile.accounts.models import User
from pawfile.lib.webforms import service_refusals
from pawfile.notifications import (
    calendar,
    channels,
    live,
    phone,
    selectors,
    services,
    unsubscribe,
)
from pawfile.notifications.choices import Kind
from pawfile.notifications.forms import SettingsForm, field_name
from pawfile.notifications.models import PhoneChannelKind

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the page that posted (when it is ours), else the inbox."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("notification_list")
    return redirect(target)


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """The inbox, newest first; ``?unread=1`` and ``?kind=...`` filter it."""
    user = _user(request)
    unread = request.GET.get("unread") == "1"
    kind = request.GET.get("kind", "")
    if kind not in Kind.values:
        kind = ""
    page = Paginator(selectors.inbox(user=user, unread=unread, kind=kind), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/list.html",
        {
            "page": page,
            "unread": unread,
            "kind": kind,
            "kinds": Kind.choices,
            "unread_total": selectors.unread_count(user=user),
        },
    )


@login_required
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read (``read=0`` marks it unread again)."""
    services.notification_mark_read(
        user=_user(request),
        notification_id=notification_id,
        read=request.POST.get("read", "1") != "0",
    )
    return _back(request)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    services.notifications_mark_all_read(user=_user(request))
    return _back(request)


@login_required
@require_POST
def notification_delete(request: HttpRequest, notification_id: int) -> HttpResponse:
    services.notification_delete(user=_user(request), notification_id=notification_id)
    return _back(request)


@require_GET
def notification_live(request: HttpRequest) -> HttpResponseBase:
    """What the bell polls: 304 while the inbox revision is the one in ``If-None-Match``,
    else the unread count and the newest notification as JSON, with a new ``ETag`` (see
    ``live.py``, which answers most unchanged polls before Django). 403 when signed out."""
    user = request.user
    if not isinstance(user, User):
        return JsonResponse({"error": "signed out"}, status=403)
    etag = live.etag_make(
        user_id=user.pk,
        revision=selectors.revision(user_id=user.pk),
        session_key=request.session.session_key or "",
    )
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponseBase = HttpResponse(status=304)
    else:
        latest = selectors.inbox(user=user).first()
        response = JsonResponse(
            {
                "unread": selectors.unread_count(user=user),
                "latest": None
                if latest is None
                else {
                    "id": latest.pk,
                    "title": latest.title,
                    "body": latest.body,
                    "link": latest.link,
                    "read": latest.read_at is not None,
                },
            }
        )
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Cookie"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    """Which kinds reach the user on which channel, quiet hours and the daily digest."""
    user = _user(request)
    available = [c for c in channels.channels_enabled() if c.reaches(user)]
    state = selectors.state(user=user)
    blocked = selectors.blocked_channels(user=user)
    # SMS after STOP: blocked by the carrier until a START, whatever is ticked here.
    sms_stopped = phone.sms_stopped(phone.phone_channels_of(user).get(PhoneChannelKind.SMS))
    feed = calendar.calendar_feed_get(user=user)
    if request.method == "POST":
        form = SettingsForm(request.POST, channels=available)
        if form.is_valid():
            with service_refusals(request, form=form):
                services.preferences_update(
                    user=user,
                    off=form.off(),
                    quiet_start=form.cleaned_data["quiet_start"],
                    quiet_end=form.cleaned_data["quiet_end"],
                    digest=form.cleaned_data["digest"],
                    unblock=[
                        c
                        for c in request.POST.getlist("unblock")
                        if not (sms_stopped and c == PhoneChannelKind.SMS)
                    ],
                )
                messages.success(request, _("Notification settings saved."))
                return redirect("notification_settings")
        status = 400
    else:
        off = selectors.preferences_off(user=user)
        initial: dict[str, Any] = {
            "quiet_start": state.quiet_start,
            "quiet_end": state.quiet_end,
            "digest": state.digest,
        }
        for kind in Kind.values:
            for channel in available:
                initial[field_name(kind, channel.name)] = (kind, channel.name) not in off
        form = SettingsForm(initial=initial, channels=available)
        status = 200
    return render(
        request,
        "notifications/settings.html",
        {
            "form": form,
            "blocked": blocked.values(),
            "sms_stopped": sms_stopped,
            "service_number": phone.sms_service_number() if sms_stopped else "",
            "off_channels": [c for c in channels.channels_all() if not c.enabled()],
            "calendar_urls": calendar.calendar_urls(feed) if feed else None,
        },
        status=status,
    )


@csrf_exempt  # the signed token is the credential; mail clients POST without a session
@require_http_methods(["GET", "POST"])
def notification_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One-click unsubscribe (RFC 8058). GET shows a page with a button and changes
    nothing; POST (the button, or the mail client's ``List-Unsubscribe=One-Click``) turns
    email off for the kind the token names. Works without signing in; a token not made here
    is 404."""
    found = unsubscribe.token_read(token)
    user = User.objects.filter(pk=found[0], is_active=True).first() if found else None
    if found is None or user is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
    kind = found[1]
    kind_label = dict(Kind.choices).get(kind, _("all notifications")) if kind != "*" else None
    context = {"token": token, "kind_label": kind_label, "done": False}
    if request.method == "POST":
        services.preference_turn_off(user=user, kind=kind, channel=channels.EMAIL)
        context["done"] = True
    return render(request, "notifications/unsubscribe.html", context)


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """``/cal/<token>.ics``: the person's calendar, no sign-in (the token is the secret);
    ``ETag`` and 304 for ``If-None-Match``. An unknown token is 404. ``?pet=<id>`` keeps
    the events about that pet only (a pet the person cannot see gives an empty calendar)."""
    owner = calendar.calendar_user(token=token)
    if owner is None:
        return HttpResponse(status=404)
    pet = request.GET.get("pet", "")
    if pet and not (pet.isascii() and pet.isdigit() and 0 < int(pet) < 2**63):
        message = _("The pet filter (?pet=) must be a pet's number.")
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    body = calendar.calendar_render(user=owner, pet_id=int(pet) if pet else None)
    etag = calendar.calendar_etag(body)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="pawfile.ics"'
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
@require_POST
def calendar_regenerate(request: HttpRequest) -> HttpResponse:
    """Make (or replace) the user's secret calendar address."""
    calendar.calendar_token_regenerate(user=_user(request))
    messages.success(request, _("Your calendar address is ready. An older one no longer works."))
    return redirect("notification_settings")
