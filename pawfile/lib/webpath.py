"""Django's WSGI handler with each page's path matched once per process.

Django finds the view of a request by trying the URLconf's patterns one by one, nested
includes and all: some 40 µs for ``/pets/<id>/`` on every request, for an answer that never
changes while the process runs. ``WebHandler`` (what ``pawfile.config.wsgi`` serves) keeps
each path's ``ResolverMatch`` per URL resolver (a changed ``ROOT_URLCONF`` is another
resolver) in a dict emptied when it holds ``RESOLVED_MAX`` paths, so memory stays bounded
whatever paths are asked. The one match object is shared by the requests of a path: Django's
handler only reads it (the view gets a copy of its keyword arguments), and so does what
reads ``request.resolver_match``. A path that resolves to nothing (a 404) is not kept, and a
request with a URLconf of its own (``request.urlconf``) is resolved Django's way. The URLconf
has no language prefixes (``i18n_patterns``), so a path's view does not depend on the
language. ``lib.apipath`` does the same for the bearer API calls it runs past the browser
middleware.
"""

from __future__ import annotations

from typing import Any

import django
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.urls import ResolverMatch, get_resolver

RESOLVED_MAX = 4096


class WebHandler(WSGIHandler):
    """``WSGIHandler`` whose ``resolve_request`` remembers each path's match (see above)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolved: dict[tuple[Any, str], ResolverMatch] = {}

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        if hasattr(request, "urlconf"):  # a URLconf of the request's own: Django's way
            return super().resolve_request(request)
        key = (get_resolver(), request.path_info)
        match = self._resolved.get(key)
        if match is None:
            match = super().resolve_request(request)  # raises Resolver404: nothing kept
            if len(self._resolved) >= RESOLVED_MAX:
                self._resolved.clear()
            self._resolved[key] = match
        request.resolver_match = match
        return match


def web_application() -> WebHandler:
    """``django.core.wsgi.get_wsgi_application`` with ``WebHandler``."""
    django.setup(set_prefix=False)
    return WebHandler()
