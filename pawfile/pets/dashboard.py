"""The pet page's dashboard: its cards rendered once per state of the pet, kept in the cache.

The pet page is read far more often than the pet changes. What it shows (the header card,
the profile, vet and contact cards, the photos, the notes and the panels other apps add, the
health card first among them) depends only on:

* the pet and what hangs on it: its ``revision``, bumped by every service that changes the
  pet, its records, notes, photos or the contacts linked to it;
* the household's name (shown in the header; a rename does not touch the pet);
* the language (words, date and number formats);
* the user's time zone (times of notes) and date (ages, due status: overdue, due soon);
* what the user may do to the pet (``accounts.access``: the buttons shown);
* the address the page was asked on (scheme and host) and the site's base URL: panels
  show absolute links;
* this code (``PAGE_VERSION`` and the installed version), the panels other apps register
  and the due-soon window;
* what the panels registered ``vary`` name now (the server's setup, such as the wallets),
  and the user's id when a panel is registered ``per_user`` (a secret address of theirs).

``dashboard_key`` names those; ``dashboard_html`` renders the cards on a miss and stores them
for ``CACHE_SECONDS``. The key names every input, so a state once drawn never changes: each
process also keeps the last ``KEPT`` states it served in memory (``lib.lru``), and a page of
a pet whose state it has seen asks the shared cache nothing (scale-out: no Redis call). The
access check is not cached: the view runs ``pets.selectors.pet_get``
on every request and only then asks for the cards.

Nothing of a session is cached: the forms of the cards get a placeholder where the CSRF
token goes, and each request puts its own token in. Placeholders carry a random nonce made
when the cards are drawn, so text a person wrote (a note, a caption) can never name one and
have a visitor's token put in it. Panels of other apps are cached only
when registered ``cacheable`` (``lib.registry``); they are drawn with the same placeholder as
their ``csrf_token``, so their forms are cached too. Any other panel is a placeholder in the
cached HTML and is drawn on every request; should a cacheable panel render a token some
other way than ``{% csrf_token %}``, nothing of that state is cached.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache, lru_cache
from importlib import metadata
from typing import Any

from django.conf import settings
from django.core.cache import cache as django_cache
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from pawfile.accounts.access import Action, access_of
from pawfile.accounts.models import User
from pawfile.lib import registry
from pawfile.lib.csrf import get_token
from pawfile.lib.dates import user_today
from pawfile.lib.lru import LRU
from pawfile.pets import selectors
from pawfile.pets.models import Pet

# Bump when the cards' templates change in a way a running cache must not serve.
PAGE_VERSION = 1
CACHE_SECONDS = 6 * 3600
KEPT = 256  # cards of ~25 KB: a few MB per process at most
_kept: LRU[tuple[str, str]] = LRU(KEPT)


def dashboard_kept_clear() -> None:
    """Forget the states this process keeps (tests that empty the shared cache too)."""
    _kept.clear()


CSRF_FIELD = "csrfmiddlewaretoken"


@cache
def _code_stamp() -> str:
    try:
        installed = metadata.version("pawfile")
    except metadata.PackageNotFoundError:
        installed = "0"
    return f"{PAGE_VERSION}.{installed}"


@lru_cache(maxsize=256)
def _actions_text(actions: frozenset[Action]) -> str:
    return ",".join(sorted(str(action) for action in Action if action in actions))


def allowed_actions(pet: Pet) -> str:
    """The actions the gate allowed on ``pet`` for this user, as a short stable text (once
    per process for each set of them)."""
    access = access_of(pet)
    if access is None:
        return ""
    return _actions_text(access.actions)


def dashboard_key(*, request: HttpRequest, pet: Pet, user: User) -> str:
    """The cache key of ``pet``'s cards as ``user`` sees them now, asked by ``request`` (see
    the module docstring for what it holds). ``pet`` is the one the gate returned for
    ``user``."""
    per_user, vary = registry.pet_panels_vary()
    parts = [
        str(user.pk) if per_user else "",
        vary,
        request.scheme or "",
        request.get_host(),
        settings.PAWFILE_BASE_URL,
        _code_stamp(),
        str(settings.PAWFILE_DUE_SOON_DAYS),
        get_language() or "",
        timezone.get_current_timezone_name(),
        user_today(user).isoformat(),
        allowed_actions(pet),
        str(pet.household_id),
        pet.household.name,
        registry.pet_panels_signature(),
    ]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"pets:page:{pet.pk}:{pet.revision}:{digest}"


def _csrf_placeholder(nonce: str) -> str:
    return f"__pawfile_csrf_{nonce}__"


def _placeholder(nonce: str, slot: str, n: int) -> str:
    return f"__pawfile_panel_{nonce}_{slot}_{n}__"


def _cards_context(request: HttpRequest, pet: Pet, user: User, nonce: str) -> dict[str, Any]:
    gallery = list(selectors.photo_list(user=user, pet=pet))
    access = access_of(pet)
    return {
        "pet": pet,
        "household": pet.household,
        "primary_photo": next((p for p in gallery if p.is_primary), None),
        "photos": gallery,
        "contacts": selectors.contact_list_for_pet(user=user, pet=pet),
        "notes": selectors.note_list(user=user, pet=pet),
        "query": "",
        "today": user_today(user),
        "can_write": access is not None and access.allows(Action.WRITE),
        "can_delete": access is not None and access.allows(Action.PET_DELETE),
        "csrf_token": _csrf_placeholder(nonce),
    }


def _panels(
    request: HttpRequest, pet: Pet, slot: registry.PanelSlot, nonce: str
) -> tuple[list[SafeString], bool]:
    """The panels of ``slot`` as the cached HTML holds them: a cacheable panel drawn (its forms
    with the CSRF placeholder), any other as the placeholder ``_live_panels`` fills on every
    request; and whether the drawn ones may be cached (every token in them is the placeholder)."""
    html, cacheable = [], True
    csrf = {"csrf_token": _csrf_placeholder(nonce)}
    for n, panel in enumerate(registry.pet_panels(slot=slot)):
        if panel.cacheable:
            drawn = registry.pet_panel_render(panel, request=request, pet=pet, extra=csrf)
            # A form whose token is not the placeholder (made some other way) holds a
            # session's secret: then nothing of this state is cached.
            cacheable = cacheable and drawn.count(CSRF_FIELD) == drawn.count(csrf["csrf_token"])
            html.append(drawn)
        else:
            html.append(mark_safe(_placeholder(nonce, slot, n)))  # noqa: S308 - our own marker
    return html, cacheable


def _live_panels(html: str, nonce: str, request: HttpRequest, pet: Pet) -> str:
    """``html`` with every panel that is not cacheable drawn for this request."""
    for slot in ("main", "actions"):
        for n, panel in enumerate(registry.pet_panels(slot=slot)):
            marker = _placeholder(nonce, slot, n)
            if not panel.cacheable and marker in html:
                drawn = registry.pet_panel_render(panel, request=request, pet=pet)
                html = html.replace(marker, drawn)
    return html


def _render(request: HttpRequest, pet: Pet, user: User) -> tuple[tuple[str, str], bool]:
    """``(nonce, the cards' HTML with the placeholders)`` and whether it may be cached."""
    nonce = secrets.token_hex(16)
    # Panels and actions of other apps (health, documents...), from the registry.
    panels, main_ok = _panels(request, pet, "main", nonce)
    actions, actions_ok = _panels(request, pet, "actions", nonce)
    context = {
        **_cards_context(request, pet, user, nonce), "panels": panels, "actions": actions
    }  # fmt: skip
    return (nonce, render_to_string("pets/_dashboard.html", context)), main_ok and actions_ok


def dashboard_html(request: HttpRequest, pet: Pet, *, csrf_token: str = "") -> SafeString:
    """The cards of the pet page for the signed-in user, from the cache when this state of
    the pet was drawn before (``pet`` comes from the gate, ``pets.selectors.pet_get``);
    panels that are not cacheable and the CSRF token are put in for this request (
    ``csrf_token`` when given, the page's own ``get_token(request)``, else a new one)."""
    user = request.user
    assert isinstance(user, User)
    key = dashboard_key(request=request, pet=pet, user=user)
    cached = _kept.get(key)
    if cached is None:
        cached = django_cache.get(key)
        if cached is None:
            cached, cacheable = _render(request, pet, user)
            if cacheable:
                django_cache.set(key, cached, CACHE_SECONDS)
                _kept.put(key, cached)
        else:
            _kept.put(key, cached)
    nonce, html = cached
    html = _live_panels(html, nonce, request, pet)
    marker = _csrf_placeholder(nonce)
    if marker in html:
        html = html.replace(marker, csrf_token or get_token(request))
    return mark_safe(html)  # noqa: S308 - rendered by our templates, escaped there
