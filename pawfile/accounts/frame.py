"""A page's frame drawn once per process for each state it shows, its holes filled per request.

A signed-in page is a frame (``base.html``: head, header, tab bar, menus, bell, footer, and
the page's own few lines around its content) and the content. When the content has a cache
of its own (the pet page's cards, ``pets.dashboard``), drawing the frame with the template
engine is most of the page's time, though it shows the same markup every time the same
person opens the same address. ``render_framed`` keeps the drawn frame in a per-process LRU
(``pawfile.lib.lru``), keyed by *everything it shows*, with markers where the holes go:

* the shell's state (``frame_state``): the language, the address with its query (the
  display menu's links come back to it), the user's id, name, e-mail, staff flag and theme,
  the admin path, the households of the header, and what each app's part of the shell shows
  (``registry.register_shell_state``: the bell's unread count);
* the page's own ``vary`` values: every value of ``context`` the template reads outside the
  holes (the pet page: the pet's name, in the title);
* the template's name.

On every request the holes (``holes``: name → HTML) and the CSRF token are put in. The key
is the content, so nothing needs invalidating: a rename, a new household or an unread
notification is a new key (the old entry ages out). Nothing is shared between processes.

Contract for the caller: ``vary`` lists every context value the template reads outside the
holes, except ``csrf_token``; the frame reads nothing of the request or the user beyond
``frame_state`` (``base.html`` is written to that rule; ``tests/accounts/test_frame.py``
compares framed pages with plain renders state by state). A request with messages to show
is rendered the plain way (messages are shown once, so they are never kept).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from pawfile.accounts.context_processors import nav_households, theme_of
from pawfile.accounts.selectors import NavHouseholds
from pawfile.lib import registry
from pawfile.lib.csrf import get_token
from pawfile.lib.lru import LRU

MAX_ENTRIES = 512  # a frame is ~8 KB: a few MB at most
CSRF = "csrf_token"

# A drawn frame: literal text at even positions, the name of a hole at odd ones.
Frame = tuple[str, ...]
_frames: LRU[Frame] = LRU(MAX_ENTRIES)


def frame_cache_clear() -> None:
    """Forget every drawn frame (tests)."""
    _frames.clear()


def frame_state(request: HttpRequest, households: NavHouseholds) -> list[Any]:
    """What the page shell shows for ``request`` (see the module docstring)."""
    user = request.user
    return [
        get_language(),
        request.get_full_path(),
        user.is_authenticated,
        user.pk,
        getattr(user, "name", ""),
        getattr(user, "email", ""),
        user.is_staff,
        theme_of(request),
        settings.PAWFILE_ADMIN_PATH,
        households.all(),
        registry.shell_state(request=request),
    ]


def _draw(
    request: HttpRequest,
    template_name: str,
    context: Mapping[str, Any],
    names: Sequence[str],
    households: NavHouseholds,
) -> Frame:
    nonce = secrets.token_hex(8)  # unguessable, so no text a user typed can pose as a hole
    markers = {f"__pawfile_frame_{nonce}_{n}__": name for n, name in enumerate(names)}
    holes = {name: mark_safe(marker) for marker, name in markers.items()}  # noqa: S308
    drawn = render_to_string(
        template_name, {**context, **holes, "nav_households": households}, request=request
    )
    pattern = "(" + "|".join(re.escape(marker) for marker in markers) + ")"
    return tuple(
        markers.get(part, part) if n % 2 else part
        for n, part in enumerate(re.split(pattern, drawn))
    )


def render_framed(
    request: HttpRequest,
    template_name: str,
    context: Mapping[str, Any],
    *,
    holes: Mapping[str, str],
    vary: Sequence[Hashable],
) -> HttpResponse:
    """``template_name`` rendered with ``context`` and ``holes`` (name → HTML, marked safe
    by the caller's templates), the frame from the per-process cache when this state of it
    was drawn before. Same bytes as ``render(request, template_name, {**context, **holes})``
    for the same token (see the module docstring for the contract on ``vary``)."""
    token = str(context.get(CSRF) or get_token(request))
    if len(get_messages(request)):
        return render(request, template_name, {**context, **holes, CSRF: token})
    households = nav_households(request)
    state = [template_name, list(vary), frame_state(request, households)]
    key = hashlib.blake2b(repr(state).encode(), digest_size=16).hexdigest()
    frame = _frames.get(key)
    if frame is None:
        frame = _draw(request, template_name, context, [CSRF, *holes], households)
        _frames.put(key, frame)
    values = {**holes, CSRF: token}
    parts = list(frame)
    for n in range(1, len(parts), 2):
        parts[n] = values[parts[n]]
    return HttpResponse("".join(parts))
