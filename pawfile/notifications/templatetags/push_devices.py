"""``{% push_panel %}``: the settings page's push section (turn on for this browser, the
person's devices with a remove button). Drawn from the tag so the settings view needs no
change for it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django import template
from django.conf import settings

from pawfile.accounts.models import User
from pawfile.notifications import devices, vapid

register = template.Library()


@register.inclusion_tag("notifications/_push.html", takes_context=True)
def push_panel(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return {"shown": False}
    rows = list(devices.devices_of(user=user))
    # What the page's script compares its own subscription with (hashed: the page need not
    # carry the push addresses).
    known = [hashlib.sha256(d.token.encode()).hexdigest() for d in rows if d.is_webpush]
    return {
        "shown": True,
        "known": json.dumps(known),
        "webpush": settings.WEBPUSH_ENABLED,
        "vapid_key": vapid.public_key() if settings.WEBPUSH_ENABLED else "",
        "devices": rows,
        "csrf_token": context.get("csrf_token"),
    }
