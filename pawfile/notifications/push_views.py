"""Web pages of web push and the installable app (PWA).

* ``/sw.js``: the service worker (``static/pawfile/sw.js``), served from the site root so
  its scope is the whole site (``Service-Worker-Allowed: /``), never cached for long so a
  new release reaches browsers at their next visit.
* ``/manifest.webmanifest``: the web app manifest every page links (name, icons 192/512
  plus maskable, ``start_url`` "/", ``display`` standalone, theme and background colours).
  The PNG icons in ``static/pawfile/icons/`` were drawn from ``favicon.svg`` (and
  ``icons/maskable.svg``, the paw inside the maskable safe zone) by headless Chromium.
* ``notifications/push/subscribe`` and ``.../unsubscribe`` (POST JSON, CSRF token in
  ``X-CSRFToken``): what ``push.js`` on the settings page sends after
  ``pushManager.subscribe()`` / ``unsubscribe()``.
* ``notifications/devices/<id>/remove`` (POST form): remove one of the person's devices
  from the list on the settings page; anyone else's is 404.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pawfile.accounts.models import User
from pawfile.lib.errors import Invalid
from pawfile.notifications import devices

THEME_COLOUR = "#0f766e"
BACKGROUND_COLOUR = "#ffffff"
BODY_MAX = 8192


@cache
def _worker_source() -> str:
    path = settings.PACKAGE_DIR / "static" / "pawfile" / "sw.js"
    return path.read_text(encoding="utf-8")


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker at the root scope."""
    source = _worker_source()
    for name in ("icon-192.png", "maskable-192.png"):
        source = source.replace(f"/static/pawfile/icons/{name}", static(f"pawfile/icons/{name}"))
    response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest (in the visitor's language)."""
    site = str(settings.PAWFILE_SITE_NAME)
    icons: list[dict[str, str]] = []
    for size in (192, 512):
        icons.append(
            {"src": static(f"pawfile/icons/icon-{size}.png"), "sizes": f"{size}x{size}",
             "type": "image/png", "purpose": "any"}
        )  # fmt: skip
        icons.append(
            {"src": static(f"pawfile/icons/maskable-{size}.png"), "sizes": f"{size}x{size}",
             "type": "image/png", "purpose": "maskable"}
        )  # fmt: skip
    body = {
        "id": "/",
        "name": site,
        "short_name": site[:12],
        "description": _("Your pets' health, reminders and documents in one place."),
        "lang": get_language() or settings.LANGUAGE_CODE,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": icons,
    }
    response = JsonResponse(body, content_type="application/manifest+json")
    response["Cache-Control"] = "public, max-age=3600"
    response["Vary"] = "Accept-Language, Cookie"
    return response


def device_label(user_agent: str) -> str:
    """A name a person recognises for a browser: "Firefox on Android", "Chrome on Linux"."""
    ua = user_agent or ""
    browser = next(
        (name for token, name in (("Edg/", "Edge"), ("Firefox/", "Firefox"),
                                  ("OPR/", "Opera"), ("Chrome/", "Chrome"),
                                  ("Safari/", "Safari")) if token in ua),
        _("Browser"),
    )  # fmt: skip
    system = next(
        (name for token, name in (("Android", "Android"), ("iPhone", "iPhone"),
                                  ("iPad", "iPad"), ("Windows", "Windows"),
                                  ("Mac OS", "macOS"), ("CrOS", "ChromeOS"),
                                  ("Linux", "Linux")) if token in ua),
        "",
    )  # fmt: skip
    return (
        _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
        if system
        else browser
    )


def _json(request: HttpRequest) -> dict[str, Any] | None:
    if len(request.body) > BODY_MAX:
        return None
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _bad(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@login_required
@require_POST
def push_subscribe(request: HttpRequest) -> JsonResponse:
    """Store this browser's subscription: JSON ``{endpoint, keys: {p256dh, auth}}`` as
    ``PushSubscription.toJSON()`` gives it. 201 with the device id; 400 for a body that is
    not that; 422 with a message for an endpoint or keys this site cannot use."""
    user = request.user
    assert isinstance(user, User)
    data = _json(request)
    keys = data.get("keys") if data else None
    if not data or not isinstance(keys, dict):
        return _bad(_("Send the browser's push subscription as JSON."))
    values = (data.get("endpoint"), keys.get("p256dh"), keys.get("auth"))
    if not all(isinstance(v, str) and v for v in values):
        return _bad(_("Send the browser's push subscription as JSON."))
    endpoint, p256dh, auth = (str(v) for v in values)
    try:
        device = devices.webpush_subscribe(
            user=user, endpoint=endpoint, p256dh=p256dh, auth=auth,
            label=device_label(request.headers.get("User-Agent", "")),
            session_key=request.session.session_key,
        )  # fmt: skip
    except Invalid as exc:
        return _bad(exc.message, status=422)
    return JsonResponse({"id": device.pk, "label": device.label}, status=201)


@login_required
@require_POST
def push_unsubscribe(request: HttpRequest) -> JsonResponse:
    """Forget this browser's subscription (JSON ``{endpoint}``); says whether it was known."""
    user = request.user
    assert isinstance(user, User)
    data = _json(request)
    endpoint = data.get("endpoint") if data else None
    if not isinstance(endpoint, str) or not endpoint:
        return _bad(_("Send the push address to forget as JSON."))
    return JsonResponse({"removed": devices.webpush_unsubscribe(user=user, endpoint=endpoint)})


@login_required
@require_POST
def device_remove(request: HttpRequest, device_id: int) -> HttpResponse:
    """Remove one of the person's devices (404 for anyone else's)."""
    user = request.user
    assert isinstance(user, User)
    devices.device_remove(user=user, device_id=device_id)
    messages.success(request, _("That device no longer gets notifications."))
    return redirect("notification_settings")
