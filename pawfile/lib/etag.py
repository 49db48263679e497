"""Conditional GETs for the API: a weak ETag on every successful JSON read, 304 on a match.

The tag is a hash of the serialized body, so it changes exactly when what the client would
see changes (including a change of who is asking). Streamed downloads carry no tag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseNotModified
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers


def etag_for(content: bytes) -> str:
    return 'W/"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def etag_matches(header: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2) of ``If-None-Match`` against ``etag``."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def conditional_get(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap an operation's ``run``: tag 200 responses to GET, answer 304 when the tag matches."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = run(request, *args, **kwargs)
        if request.method != "GET" or response.status_code != 200 or response.streaming:
            return response
        etag = etag_for(response.content)  # type: ignore[attr-defined]
        # The body depends on who asks: shared caches must not serve it to someone else.
        patch_vary_headers(response, ("Authorization", "Cookie"))
        patch_cache_control(response, private=True, no_cache=True)
        response["ETag"] = etag
        if not etag_matches(request.headers.get("If-None-Match"), etag):
            return response
        not_modified = HttpResponseNotModified()
        for header in ("ETag", "Vary", "Cache-Control"):
            not_modified[header] = response[header]
        return not_modified

    return wrapper
