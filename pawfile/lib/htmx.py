"""HTMX request helpers: one view serves the full page or the fragment."""

from django.http import HttpRequest


def is_htmx(request: HttpRequest) -> bool:
    """True when HTMX made the request (and so wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")
