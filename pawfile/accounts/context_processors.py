"""Template context every page needs: theme, admin path, the header's households."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from pawfile.accounts.selectors import NavHouseholds


def pawfile(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    theme = "auto"
    if user is not None and user.is_authenticated:
        theme = user.theme
    else:
        theme = request.COOKIES.get("pawfile_theme", "auto")
        if theme not in ("auto", "light", "dark"):
            theme = "auto"
    return {
        "pawfile_theme": theme,
        "pawfile_admin_path": "/" + settings.PAWFILE_ADMIN_PATH,
        # read once, when a page draws the header (not at all for fragments)
        "nav_households": NavHouseholds(user) if user is not None else (),
    }
