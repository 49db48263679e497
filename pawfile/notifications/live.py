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

Hundreds of open pages poll, so an unchanged poll is kept to the bare work (about 11 µs
in-process with SQLite; the server's CPU per poll is measured by ``bench/inbox.py``): the
HMAC key is derived once per process (as Django's ``salted_hmac`` derives it: the MAC is the
same), only the session cookie is picked out of the ``Cookie`` header, the revision is read
from Redis on a connection of the thread's own (no cache API layers, no pool), and with
SQLite by one statement on the thread's own connection, without Django's cursor wrappers.
Both reads are exact: a commit by any process is seen by the next poll, which a copy of the
revisions kept in the process could not promise for less (SQLite's ``PRAGMA data_version``
costs the same read transaction as the row).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections
from redis.exceptions import ConnectionError as RedisConnectionError

from pawfile.notifications.services import revision_cache_key

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
LIVE_PATH = "/notifications/live"
SALT = "pawfile.notifications.live"
HEADERS_304 = [("Cache-Control", "private, no-cache"), ("Vary", "Cookie")]
REVISION_SQL = "SELECT revision FROM notifications_recipientstate WHERE user_id = %s"
REVISION_SQLITE = REVISION_SQL.replace("%s", "?")


class _Derived(NamedTuple):
    """What a poll needs from the settings, read once per process."""

    cookie_name: str
    revision_cache: bool
    keyed: Any  # an HMAC keyed as ``salted_hmac(SALT, ...)`` keys it, not yet fed


_derived: _Derived | None = None
_generation = 0  # settings changes seen (tests): this thread's handles are looked up again
_local = threading.local()


def _settings() -> _Derived:
    global _derived
    found = _derived
    if found is None:
        # the key derivation of Django's salted_hmac: HMAC-SHA1 keyed with SHA-1(salt + secret)
        key = hashlib.sha1((SALT + settings.SECRET_KEY).encode()).digest()  # noqa: S324
        found = _derived = _Derived(
            cookie_name=settings.SESSION_COOKIE_NAME,
            revision_cache=bool(settings.NOTIFY_REVISION_CACHE),
            keyed=hmac.new(key, digestmod=hashlib.sha1),
        )
    return found


def _settings_changed(**kwargs: Any) -> None:
    """A setting changed (only tests do): derive everything again."""
    global _derived, _generation
    _derived = None
    _generation += 1


setting_changed.connect(_settings_changed, dispatch_uid="pawfile.notifications.live")


def _handles() -> tuple[Any, Any]:
    """This thread's database connection and cache: Django's own, looked up once per thread
    (a lookup through Django's handlers costs more than the rest of the poll)."""
    found = getattr(_local, "handles", None)
    if found is None or found[0] != _generation:
        found = (_generation, connections[DEFAULT_DB_ALIAS], caches[DEFAULT_CACHE_ALIAS])
        _local.handles = found
    return found[1], found[2]


def _redis_get(cache: RedisCache, key: str) -> bytes | None:
    """``GET`` of the cache's ``key`` on this thread's own connection to the cache's Redis
    (made by the cache's pool, with its address and options, and kept by the thread): no
    pool lock or check that a pooled connection has nothing left to read, a quarter of the
    CPU of a pooled call. Any error drops the connection (nothing half-read is reused) and
    is raised; a connection Redis closed while idle is made again once."""
    full_key = cache.make_key(key)
    for attempt in (1, 2):
        conn = getattr(_local, "redis", None)
        if conn is None or conn[0] != _generation:
            pool = cache._cache.get_client(full_key).connection_pool
            conn = _local.redis = (_generation, pool.make_connection())
        try:
            conn[1].send_command("GET", full_key)
            value: bytes | None = conn[1].read_response()
            return value
        except Exception as error:
            conn[1].disconnect()
            _local.redis = None
            if attempt == 2 or not isinstance(error, RedisConnectionError):
                raise
    return None  # not reached


def _mac(user_id: int, revision: int, session_key: str) -> str:
    """20 hex digits of ``salted_hmac(SALT, "<user>:<revision>:<session key>")`` (SHA-1,
    the site's secret key), with the key derived once per process instead of every call."""
    mac = _settings().keyed.copy()
    mac.update(f"{user_id}:{revision}:{session_key}".encode())
    return str(mac.hexdigest()[:20])


def etag_make(*, user_id: int, revision: int, session_key: str) -> str:
    return f'"n{user_id}-{revision}-{_mac(user_id, revision, session_key)}"'


def etag_read(value: str, *, session_key: str) -> tuple[int, int] | None:
    """The (user id, revision) of an ETag made for ``session_key``, else ``None``."""
    try:
        user, revision, mac = value.strip().removeprefix("W/").strip('"').lstrip("n").split("-")
        user_id, rev = int(user), int(revision)
    except ValueError:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(user_id, rev, session_key).encode()):
        return None
    return user_id, rev


def _session_key(cookies: str) -> str | None:
    """The session cookie's value in a ``Cookie`` header: the last one, as Django reads it
    (``parse_cookie``); ``None`` without one. A value Django would read differently (quoted)
    only fails the ETag's check, and that poll goes to Django."""
    name = _settings().cookie_name
    found = None
    for part in cookies.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == name:
            found = value.strip()
    return found or None


def _revision(user_id: int) -> int | None:
    """The inbox revision of ``user_id`` now; ``None`` when the shared cache does not have
    it (Django's view reads the database and fills it)."""
    db, cache = _handles()
    if _settings().revision_cache:
        key = revision_cache_key(user_id)
        value = _redis_get(cache, key) if isinstance(cache, RedisCache) else cache.get(key)
        return None if value is None else int(value)
    if db.vendor == "sqlite":  # the thread's own connection, in autocommit: the latest commit
        if db.connection is None:
            db.ensure_connection()
        row = db.connection.execute(REVISION_SQLITE, (user_id,)).fetchone()
    else:
        with db.cursor() as cursor:
            cursor.execute(REVISION_SQL, [user_id])
            row = cursor.fetchone()
    return int(row[0]) if row else 0


def unchanged(wsgi_env: dict[str, Any]) -> str | None:
    """The ETag to answer 304 with, when this poll's inbox is unchanged; else ``None``."""
    etag = wsgi_env.get("HTTP_IF_NONE_MATCH")
    cookies = wsgi_env.get("HTTP_COOKIE")
    if not etag or not cookies or wsgi_env.get("REQUEST_METHOD") != "GET":
        return None
    session_key = _session_key(cookies)
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
