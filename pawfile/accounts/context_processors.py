"""Template context every page needs: theme, admin path, the header's households."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from pawfile.accounts.selectors import NavHouseholds


def theme_of(request: HttpRequest) -> str:
    """``auto``, ``light`` or ``dark``: the signed-in user's choice, else the cookie's."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.theme)
    theme = request.COOKIES.get("pawfile_theme", "auto")
    return theme if theme in ("auto", "light", "dark") else "auto"


def nav_households(request: HttpRequest) -> NavHouseholds:
    """The header's households of the signed-in user, read on first use; on a GET or HEAD
    whose session read brought them (``accounts.sessions``: same statement, same user),
    those."""
    user = request.user
    rows = None
    if request.method in ("GET", "HEAD") and user.is_authenticated:
        session = getattr(request, "session", None)
        if getattr(session, "hinted_for", None) == user.pk:
            rows = getattr(session, "hinted_households", None)
    return NavHouseholds(user, rows)


def pawfile(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    return {
        "pawfile_theme": theme_of(request),
        "pawfile_admin_path": "/" + settings.PAWFILE_ADMIN_PATH,
        # read once, when a page draws the header (not at all for fragments)
        "nav_households": nav_households(request) if user is not None else (),
    }
