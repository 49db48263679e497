"""A pet's public page for a stranger, answered in front of Django.

``public_page_fast(app)`` wraps the WSGI application (``config/wsgi.py``). A ``GET`` or
``HEAD`` of ``/p/{slug}`` from a visitor without a session cookie (a finder who scanned a
tag) is answered here, with no middleware, session, template engine or cache round trip:

* a page this process holds for the same key as the view's cache (``cache.page_key``:
  slug, profile and pet revisions, language, theme, date): one small query reads the two
  revisions, then the stored answer is replayed, or ``304`` for a matching
  ``If-None-Match``;
* a page not held (the first visit after a change): drawn here, as the view draws it
  (``public_html.page_draw``: one query for everything the page shows, the page written in
  Python), then kept. With ``PAWFILE_PUBLIC_PAGE_CACHE=off`` every visit is drawn so.

The headers of a drawn page are Django's own: the first anonymous visit in a process (per
language and scheme) goes to Django, and its ``200`` answer's headers (the security headers
the middleware added included; ``X-Request-Id``, ``Date`` and the page's ``ETag`` dropped)
are learnt for the pages drawn here. That answer is kept too when it has no
``Set-Cookie`` and an ``ETag``. At most ``MAX_PAGES`` pages per process (the oldest go
first). A change of anything the page shows moves a revision, so the key, at once.

Everything else goes to Django: a signed-in visitor (their theme and language come from
their account), another method, an unknown slug (its 404 page), a database error (Django
answers as it would anyway).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache as memoize
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.http.cookie import parse_cookie
from django.utils import timezone, translation
from django.utils.translation import get_language_from_request

from pawfile.lib import sqlrows
from pawfile.lib.etag import etag_matches
from pawfile.lostpet import cache, public_html
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
# Django's headers for a public page (the middleware's security headers and the view's own),
# by (language, scheme), learnt from its first answer in this process.
_headers: dict[tuple[str, str], list[tuple[str, str]]] = {}


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
    rows = sqlrows.fetch(_stamp_sql(), [slug])  # the driver's cursor, past Django's wrappers
    return (int(rows[0][0]), int(rows[0][1]), int(rows[0][2])) if rows else None


@dataclass(frozen=True)
class Visit:
    """What an anonymous request asks for: the page and how it is drawn."""

    slug: str
    language: str
    theme: str
    today: dt.date
    scheme: str  # http/https as the proxy says: the learnt headers differ (HSTS)

    def key(self, stamp: tuple[int, int, int]) -> str:
        return cache.page_key(
            slug=self.slug, stamp=stamp, language=self.language, theme=self.theme, today=self.today
        )


def visit_of(meta: dict[str, Any], slug: str) -> Visit | None:
    """The anonymous visit ``meta`` asks for, or ``None`` when Django must answer (a
    session cookie: the visitor's language and theme come from their account)."""
    raw = meta.get("HTTP_COOKIE")
    cookies = parse_cookie(raw) if raw else {}
    if settings.SESSION_COOKIE_NAME in cookies:
        return None
    theme = cookies.get("pawfile_theme", "auto")
    request = SimpleNamespace(COOKIES=cookies, META=meta)
    return Visit(
        slug=slug,
        language=get_language_from_request(request),  # type: ignore[arg-type]
        theme=theme if theme in THEMES else "auto",
        today=timezone.localdate(),
        scheme=str(meta.get("HTTP_X_FORWARDED_PROTO") or meta.get("wsgi.url_scheme", "http")),
    )


def _read(read: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``read(...)``, or ``None`` after a database error (logged; Django answers)."""
    try:
        return read(*args, **kwargs)
    except Exception:
        log.warning("public page: the database could not be read; Django answers", exc_info=True)
        close_old_connections()
        return None


def _keep(key: str, status: str, headers: list[tuple[str, str]], body: bytes) -> Page | None:
    names = {name.lower() for name, _value in headers}
    if not status.startswith("200") or "set-cookie" in names or "etag" not in names:
        return None
    kept = [(n, v) for n, v in headers if n.lower() not in DROPPED]
    etag = next(v for n, v in headers if n.lower() == "etag")
    page = (status, kept, body, etag)
    _store(key, page)
    return page


def _store(key: str, page: Page) -> None:
    """Hold ``page`` for ``key`` (not with the cache off), at most ``MAX_PAGES``."""
    if not settings.PAWFILE_PUBLIC_PAGE_CACHE:
        return
    with _lock:
        _pages[key] = page
        while len(_pages) > MAX_PAGES:
            _pages.popitem(last=False)


def _learn(visit: Visit, page: Page) -> None:
    """Keep the headers of Django's answer (all but the page's own ``ETag``) for the pages
    this layer draws itself in the same language and scheme."""
    _status, headers, _body, _etag = page
    _headers[(visit.language, visit.scheme)] = [(n, v) for n, v in headers if n.lower() != "etag"]


def _replay(meta: dict[str, Any], start_response: Callable[..., Any], page: Page) -> list[bytes]:
    status, headers, body, etag = page
    if etag_matches(meta.get("HTTP_IF_NONE_MATCH"), etag):
        wanted = {"etag", "cache-control", "vary"}
        start_response("304 Not Modified", [(n, v) for n, v in headers if n.lower() in wanted])
        return []
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [] if meta.get("REQUEST_METHOD") == "HEAD" else [body]


def _through(
    app: WSGIApp,
    meta: dict[str, Any],
    start_response: Callable[..., Any],
    visit: Visit,
    key: str | None,
) -> Iterable[bytes]:
    """Django's answer; kept for ``key`` when it may be replayed, and its headers learnt."""
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
    page = _keep(key or "", got.get("status", ""), got.get("headers", []), body)
    if page is not None:
        _learn(visit, page)
    return [body]


def _draw(visit: Visit) -> tuple[str, Page] | None:
    """The page drawn here (one query, ``public_html.page_draw``) with the learnt headers: its
    key and answer; ``None`` for an unknown slug or a database error."""
    headers = _headers.get((visit.language, visit.scheme))
    if headers is None:
        return None
    with translation.override(visit.language):
        drawn = _read(public_html.page_draw, visit.slug, theme=visit.theme, today=visit.today)
    if drawn is None:
        return None
    stamp, body = drawn
    key = visit.key(stamp)
    etag = cache.page_etag(key)
    page = ("200 OK", [*headers, ("ETag", etag)], body, etag)
    _store(key, page)
    return key, page


def public_page_fast(app: WSGIApp) -> WSGIApp:
    """``app`` with strangers' visits of public pages answered in front of it (module
    docstring)."""

    def application(meta: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = meta.get("PATH_INFO", "")
        slug = path[len(PREFIX) :]
        if (
            not path.startswith(PREFIX)
            or meta.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or not slug_valid(slug)
        ):
            return app(meta, start_response)
        visit = visit_of(meta, slug)
        if visit is None:
            return app(meta, start_response)
        key = None
        if settings.PAWFILE_PUBLIC_PAGE_CACHE:
            stamp = _read(_stamp, slug)
            if stamp is None:  # unknown slug (Django's 404 page) or a database error
                return app(meta, start_response)
            key = visit.key(stamp)
            page = _pages.get(key)
            if page is not None:
                return _replay(meta, start_response, page)
            etag = cache.page_etag(key)
            headers = _headers.get((visit.language, visit.scheme))
            if headers is not None and etag_matches(meta.get("HTTP_IF_NONE_MATCH"), etag):
                # The browser holds this page: nothing to draw.
                return _replay(meta, start_response, ("", [*headers, ("ETag", etag)], b"", etag))
        drawn = _draw(visit)
        if drawn is None:  # no headers learnt yet, an unknown slug or a database error
            return _through(app, meta, start_response, visit, key)
        return _replay(meta, start_response, drawn[1])

    return application


def pages_forget() -> None:
    """Drop every page and header this process holds (tests)."""
    with _lock:
        _pages.clear()
        _headers.clear()
