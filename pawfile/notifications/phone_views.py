"""The phone channels page (``/notifications/phone/``): a person's WhatsApp and SMS numbers.

Per channel the site offers: enter a number (a 6-digit code is sent to it), type the code,
turn notifications on that number on or off, remove it. Every change is a POST on
``/notifications/phone/<channel>/<action>`` (``code``, ``verify``, ``opt``, ``remove``) and
acts on the signed-in person's own number only; a channel the site has off is 404. A
refusal (a bad number, a wrong code, too many codes) shows the page again with the message
and its status (422, 429, 409). An SMS number that answered STOP shows "blocked by your
carrier" and the START to text first, also right after it is turned on again, until the
START arrives.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pawfile.accounts.models import User
from pawfile.lib.errors import NotFound, ServiceError
from pawfile.notifications import phone
from pawfile.notifications.models import PhoneChannelKind

ACTIONS = ("code", "verify", "opt", "remove")


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _page(
    request: HttpRequest,
    *,
    status: int = 200,
    errors: dict[str, dict[str, str]] | None = None,
    typed: dict[str, str] | None = None,
) -> HttpResponse:
    user = _user(request)
    rows = phone.phone_channels_of(user)
    labels = dict(PhoneChannelKind.choices)
    cards: list[dict[str, Any]] = []
    for channel in phone.channels_offered():
        row = rows.get(channel)
        cards.append({
            "channel": channel,
            "label": labels[channel],
            "row": row,
            "display": phone.phone_display(row.phone) if row else "",
            "pending": bool(row and row.code_hash),
            "stopped": phone.sms_stopped(row),
            "errors": (errors or {}).get(channel, {}),
            "typed": (typed or {}).get(channel, ""),
        })  # fmt: skip
    return render(
        request,
        "notifications/phone.html",
        {"cards": cards, "service_number": phone.sms_service_number()},
        status=status,
    )


@login_required
@require_GET
def phone_settings(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def phone_action(request: HttpRequest, channel: str, action: str) -> HttpResponse:
    if channel not in phone.channels_offered() or action not in ACTIONS:
        raise Http404(_("Not found."))
    user = _user(request)
    try:
        if action == "code":
            phone.phone_code_send(user=user, channel=channel, phone=request.POST.get("phone", ""))
            messages.success(request, _("We sent a code. Type it below."))
        elif action == "verify":
            phone.phone_code_check(user=user, channel=channel, code=request.POST.get("code", ""))
            messages.success(request, _("Your number is verified."))
        elif action == "opt":
            opted = request.POST.get("opted_in") == "1"
            row = phone.phone_opt(user=user, channel=channel, opted_in=opted)
            if opted and phone.sms_stopped(row):
                messages.warning(
                    request, _("Saved, but your carrier still blocks our texts: see below.")
                )
            else:
                messages.success(request, _("Saved."))
        else:
            phone.phone_remove(user=user, channel=channel)
            messages.success(request, _("Number removed."))
    except NotFound:
        raise
    except ServiceError as exc:
        field = next(iter(exc.fields), "phone") if exc.fields else "phone"
        return _page(
            request,
            status=exc.status,
            errors={channel: {field: exc.message}},
            typed={channel: request.POST.get("phone", "")},
        )
    return redirect("phone_settings")
