"""The bell's live poll, answered in front of Django while nothing changed.

``live_poll(app)`` wraps the WSGI application (``config/wsgi.py``). A ``GET`` of
``/notifications/live`` whose ``If-None-Match`` is a valid ETag for the session cookie it
comes with, and whose inbox revision is still the one in that ETag, is answered ``304``
here: no middleware, no session or user load, no template. Everything else (first poll,
a change, a missing or foreign ETag, a revision not in the cache) goes to Django, whose view
(``views.notification_live``) answers with the count and a fresh ETag.

The ETag is ``"n<user id>-<revision>-<mac>"``, the mac an HMAC (the site's secret key) of
the user id, the revision and the session key: it is only valid with the session it was
issued to, so a logged-out or foreign session (login makes a new session key) goes to the
full view (403 when signed out). A 304 tells nothing but "unchanged".

The revision comes from the shared cache when there is one (``NOTIFY_REVISION_CACHE``,
Redis; a miss goes to Django, which fills it), else from the database by primary key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http.cookie import parse_cookie
from django.utils.crypto import constant_time_compare, salted_hmac

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
LIVE_PATH = "/notifications/live"
SALT = "pawfile.notifications.live"
HEADERS_304 = [("Cache-Control", "private, no-cache"), ("Vary", "Cookie")]


def _mac(user_id: int, revision: int, session_key: str) -> str:
    return salted_hmac(SALT, f"{user_id}:{revision}:{session_key}").hexdigest()[:20]


def etag_make(*, user_id: int, revision: int, session_key: str) -> str:
    return f'"n{user_id}-{revision}-{_mac(user_id, revision, session_key)}"'


def etag_read(value: str, *, session_key: str) -> tuple[int, int] | None:
    """The (user id, revision) of an ETag made for ``session_key``, else ``None``."""
    try:
        user, revision, mac = value.strip().removeprefix("W/").strip('"').lstrip("n").split("-")
        user_id, rev = int(user), int(revision)
    except ValueError:
        return None
    if not constant_time_compare(mac, _mac(user_id, rev, session_key)):
        return None
    return user_id, rev


def _revision(user_id: int) -> int | None:
    if settings.NOTIFY_REVISION_CACHE:
        from pawfile.notifications.services import revision_cache_key

        value = cache.get(revision_cache_key(user_id))
        return None if value is None else int(value)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT revision FROM notifications_recipientstate WHERE user_id = %s", [user_id]
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def unchanged(wsgi_env: dict[str, Any]) -> str | None:
    """The ETag to answer 304 with, when this poll's inbox is unchanged; else ``None``."""
    etag = wsgi_env.get("HTTP_IF_NONE_MATCH")
    cookies = wsgi_env.get("HTTP_COOKIE")
    if not etag or not cookies or wsgi_env.get("REQUEST_METHOD") != "GET":
        return None
    session_key = parse_cookie(cookies).get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return None
    found = etag_read(etag, session_key=session_key)
    if found is None:
        return None
    try:
        current = _revision(found[0])
    except Exception:
        log.warning("live poll: could not read the revision; Django answers", exc_info=True)
        return None
    return etag.strip() if current == found[1] else None


def live_poll(app: WSGIApp) -> WSGIApp:
    """``app`` with unchanged live polls answered in front of it (module docstring)."""

    def application(
        wsgi_env: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if wsgi_env.get("PATH_INFO") == LIVE_PATH:
            etag = unchanged(wsgi_env)
            if etag is not None:
                start_response("304 Not Modified", [("ETag", etag), *HEADERS_304])
                return []
        return app(wsgi_env, start_response)

    return application
