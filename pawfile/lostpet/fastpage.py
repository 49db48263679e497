"""A pet's public page for a stranger, answered in front of Django once it was drawn.

``public_page_fast(app)`` wraps the WSGI application (``config/wsgi.py``). A ``GET`` or
``HEAD`` of ``/p/{slug}`` from a visitor without a session cookie (a finder who scanned a
tag) is answered here when this process already holds the page for the same key as the
view's cache (``cache.page_key``: slug, profile and pet revisions, language, theme, date):
one small query reads the two revisions, then the stored answer is replayed, or ``304`` for
a matching ``If-None-Match``. No middleware, session, template or cache round trip.

Everything else goes to Django: a signed-in visitor (their theme and language come from
their account), another method, an unknown slug, a key not held yet. When Django answers a
first request with ``200``, no ``Set-Cookie`` and an ``ETag``, its status, headers (the
security headers the middleware added included; ``X-Request-Id`` and ``Date`` dropped) and
body are kept for the next ones, at most ``MAX_PAGES`` per process (the oldest go first).
A change of anything the page shows moves a revision, so the key, at once.

``PAWFILE_PUBLIC_PAGE_CACHE=off`` switches this layer off with the view's cache. A database
error sends the request to Django, which answers as it would anyway.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import cache as memoize
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections
from django.http.cookie import parse_cookie
from django.utils import timezone
from django.utils.translation import get_language_from_request

from pawfile.lib import sqlrows
from pawfile.lib.etag import etag_matches
from pawfile.lostpet import cache
from pawfile.lostpet.models import PublicProfile
from pawfile.lostpet.selectors import slug_valid
from pawfile.pets.models import Pet

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PREFIX = "/p/"
MAX_PAGES = 512
DROPPED = {"date", "server", "x-request-id", "content-length", "connection"}
THEMES = ("auto", "light", "dark")

Page = tuple[str, list[tuple[str, str]], bytes, str]  # status, headers, body, etag

_pages: OrderedDict[str, Page] = OrderedDict()
_lock = threading.Lock()


@memoize
def _stamp_sql() -> str:
    profile, pet = sqlrows.table(PublicProfile), sqlrows.table(Pet)
    revision = sqlrows.name(PublicProfile, "revision")
    return (  # names quoted by the connection; the slug is a parameter
        f"SELECT p.{sqlrows.name(PublicProfile, 'id')}, p.{revision},"  # noqa: S608
        f" t.{sqlrows.name(Pet, 'revision')} FROM {profile} p JOIN {pet} t"
        f" ON t.{sqlrows.name(Pet, 'id')} = p.{sqlrows.name(PublicProfile, 'pet')}"
        f" WHERE p.{sqlrows.name(PublicProfile, 'slug')} = %s"
    )


def _stamp(slug: str) -> tuple[int, int, int] | None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_stamp_sql(), [slug])
        row = cursor.fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else None


def page_key(meta: dict[str, Any], slug: str) -> str | None:
    """The view's cache key for this anonymous request, or ``None`` when Django must answer
    (a session cookie, an unknown slug, a database error)."""
    cookies = parse_cookie(meta.get("HTTP_COOKIE", "")) if meta.get("HTTP_COOKIE") else {}
    if settings.SESSION_COOKIE_NAME in cookies:
        return None
    try:
        stamp = _stamp(slug)
    except Exception:
        log.warning("public page: could not read the revisions; Django answers", exc_info=True)
        close_old_connections()
        return None
    if stamp is None:
        return None
    theme = cookies.get("pawfile_theme", "auto")
    request = SimpleNamespace(COOKIES=cookies, META=meta)
    return cache.page_key(
        slug=slug,
        stamp=stamp,
        language=get_language_from_request(request),  # type: ignore[arg-type]
        theme=theme if theme in THEMES else "auto",
        today=timezone.localdate(),
    )


def _keep(key: str, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
    names = {name.lower() for name, _value in headers}
    if not status.startswith("200") or "set-cookie" in names or "etag" not in names:
        return
    kept = [(n, v) for n, v in headers if n.lower() not in DROPPED]
    etag = next(v for n, v in headers if n.lower() == "etag")
    with _lock:
        _pages[key] = (status, kept, body, etag)
        while len(_pages) > MAX_PAGES:
            _pages.popitem(last=False)


def _replay(meta: dict[str, Any], start_response: Callable[..., Any], page: Page) -> list[bytes]:
    status, headers, body, etag = page
    if etag_matches(meta.get("HTTP_IF_NONE_MATCH"), etag):
        wanted = {"etag", "cache-control", "vary"}
        start_response("304 Not Modified", [(n, v) for n, v in headers if n.lower() in wanted])
        return []
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [] if meta.get("REQUEST_METHOD") == "HEAD" else [body]


def _through(
    app: WSGIApp, meta: dict[str, Any], start_response: Callable[..., Any], key: str
) -> Iterable[bytes]:
    """Django's answer, kept for ``key`` when it may be replayed."""
    got: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
        got["status"], got["headers"] = status, list(headers)
        return start_response(status, headers, *exc_info)

    result = app(meta, capture)
    if meta.get("REQUEST_METHOD") != "GET":
        return result
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    _keep(key, got.get("status", ""), got.get("headers", []), body)
    return [body]


def public_page_fast(app: WSGIApp) -> WSGIApp:
    """``app`` with repeat visits of public pages answered in front of it (module docstring)."""

    def application(meta: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = meta.get("PATH_INFO", "")
        if (
            not path.startswith(PREFIX)
            or meta.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or not settings.PAWFILE_PUBLIC_PAGE_CACHE
            or not slug_valid(path[len(PREFIX) :])
        ):
            return app(meta, start_response)
        key = page_key(meta, path[len(PREFIX) :])
        if key is None:
            return app(meta, start_response)
        page = _pages.get(key)
        if page is not None:
            return _replay(meta, start_response, page)
        return _through(app, meta, start_response, key)

    return application


def pages_forget() -> None:
    """Drop every page this process holds (tests)."""
    with _lock:
        _pages.clear()
