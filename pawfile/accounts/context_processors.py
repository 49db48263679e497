"""Template context every page needs: theme, site name, admin path."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def pawfile(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    theme = "auto"
    if user is not None and user.is_authenticated:
        theme = user.theme
    else:
        theme = request.COOKIES.get("pawfile_theme", "auto")
        if theme not in ("auto", "light", "dark"):
            theme = "auto"
    return {"pawfile_theme": theme, "pawfile_admin_path": "/" + settings.PAWFILE_ADMIN_PATH}
