"""JWT access and refresh tokens for API clients, on top of allauth headless.

allauth issues an access token and a refresh token bound to a server-side session (the
"token family"), checks access tokens against that session on every request (stateful
validation, so logout or a password change kills them), and rotates the refresh token on
each use. Pawfile adds two things:

* an audience (``aud``) and issuer (``iss``) claim, checked on every access token, so a token
  minted for another service with the same key is refused;
* refresh-token reuse detection: a rotated refresh token presented again means it was copied,
  so the whole family (the session, every access and refresh token in it) is revoked. Each
  refresh token is also claimed in the shared cache (an atomic ``add``) before it is
  exchanged, so two exchanges of one token racing in the same instant count as a reuse
  instead of both succeeding;
* a cheaper stateful check. allauth reads and decodes the session, then loads the user, on
  every call (a session load and an ORM query, most of the cost of a small API call; with
  ``cached_db`` sessions a Redis read and a query). The first call of a token's session reads
  the session row and the user in one hand-written SELECT and makes the same checks
  (``_session_open``); a case it does not settle (a refusal, a backend of another kind, a
  hash under a fallback key) goes to allauth, which decides. What the check yielded (session
  key, user id, the session's password hash) is then remembered in this process, keyed by the
  token's ``sid`` claim; later calls make one hand-written SELECT that returns the user only
  while the session row exists and has not expired, then check ``is_active`` and the password
  hash again. Nothing that can change is remembered: logout, a password change, a revoked
  family or an expired session end the token on its very next call, in every process.
"""

from __future__ import annotations

import logging
import time
from functools import cache
from importlib import import_module
from typing import Any

import jwt
from allauth.core.internal.httpkit import get_authorization_credential
from allauth.headless import app_settings
from allauth.headless.tokens.strategies.jwt import JWTTokenStrategy
from allauth.headless.tokens.strategies.jwt import internal as jwt_internal
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.core.cache import caches
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Exists
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from pawfile.accounts.models import User
from pawfile.accounts.sessions import ENGINES as SESSION_TABLE_ENGINES
from pawfile.lib import sqlrows

log = logging.getLogger(__name__)

ROTATED_KEY = "pawfile_rotated_refresh_tokens"
CLAIM_PREFIX = "pawfile:refresh-claimed:"
# Size of each in-process memo below; a full one is emptied and refilled on later calls.
CHECKED_MAX = 10_000


def access_token_decode(token: str) -> dict[str, Any] | None:
    """The verified claims of an access token, or ``None`` if it must be refused.

    Refused: a bad signature, an algorithm other than the configured one (``none`` included),
    an expired token, a wrong audience or issuer, a refresh token, missing claims.

    A token whose signature and claims were verified once is remembered (the result cannot
    change: the same bytes verify the same way) until it expires; ``exp`` is checked on
    every call.
    """
    config = _jwt_config()
    key = (token, config.algorithm, settings.PAWFILE_JWT_AUDIENCE, settings.PAWFILE_BASE_URL)
    payload = _verified.get(key)
    if payload is not None:
        return payload if payload["exp"] > time.time() else None
    try:
        payload = jwt.decode(
            token,
            key=config.verifying_key,
            algorithms=[config.algorithm],
            audience=settings.PAWFILE_JWT_AUDIENCE,
            issuer=settings.PAWFILE_BASE_URL,
            options={"require": ["exp", "iat", "aud", "iss", "sub", "sid", "jti"]},
        )
    except jwt.PyJWTError:
        return None
    if payload.get("token_use") != "access":
        return None
    if not all(isinstance(payload.get(k), str) for k in ("jti", "sub", "sid")):
        return None
    if not isinstance(payload["exp"], int | float):
        return None
    if len(_verified) >= CHECKED_MAX:
        _verified.clear()
    _verified[key] = payload
    return payload


# (token, algorithm, audience, issuer) -> its verified claims. Bounded like _checked.
_verified: dict[tuple[str, str, str, str], dict[str, Any]] = {}


@cache
def _jwt_config() -> Any:
    """allauth's signing configuration (algorithm and keys), read from the settings once
    instead of on every call (two settings lookups through allauth's layers, twice per API
    call); forgotten whenever a setting changes (``setting_changed``: tests)."""
    return jwt_internal._get_jwt_config()


@receiver(setting_changed)
def _settings_changed(**kwargs: Any) -> None:
    _jwt_config.cache_clear()
    _auth_hashes.clear()


# (password hash, secret key) -> the session hash Django derives from them
# (``get_session_auth_hash``, an HMAC): the same inputs give the same hash, so it is derived
# once per password instead of on every call. Bounded like _checked.
_auth_hashes: dict[tuple[str, str], str] = {}


def _session_hash_matches(user: User, auth_hash: str) -> bool:
    """``auth_hash`` (kept in the session at sign-in) is ``user``'s session hash under the
    current secret key: the check Django's ``get_user`` makes, with the HMAC remembered."""
    key = (user.password, settings.SECRET_KEY)
    expected = _auth_hashes.get(key)
    if expected is None:
        expected = user.get_session_auth_hash()
        if len(_auth_hashes) >= CHECKED_MAX:
            _auth_hashes.clear()
        _auth_hashes[key] = expected
    return constant_time_compare(auth_hash, expected)


# A token's sid -> (session key, user id, the session's password hash), for sessions checked
# the full way once. Bounded: emptied when full (each entry is re-learned on its next call).
_checked: dict[str, tuple[str, int, str]] = {}
DATABASE_SESSION_ENGINES = SESSION_TABLE_ENGINES  # engines that keep the django_session table
# Backends whose get_user is ModelBackend's (the user by primary key, active users only).
MODEL_BACKENDS = (
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
)


def access_token_validate(token: str) -> tuple[AbstractBaseUser, dict[str, Any]] | None:
    """The user and claims for a valid access token whose session is still alive."""
    payload = access_token_decode(token)
    if payload is None:
        return None
    sid = payload["sid"]
    known = _checked.get(sid)
    if known is not None:
        user = _session_user(*known)
        if user is not None:
            return user, payload
        _checked.pop(sid, None)
    opened = _session_open(sid, payload["sub"])
    if opened is not None:
        user, session_key, auth_hash = opened
    else:  # refused, or a case the short check leaves to allauth: allauth decides
        session = jwt_internal.get_token_session(payload)
        if session is None:
            return None
        user = jwt_internal.validate_token_user(payload, session)
        if user is None:
            return None
        session_key, auth_hash = session.session_key, session.get(HASH_SESSION_KEY)
    if settings.SESSION_ENGINE in DATABASE_SESSION_ENGINES and auth_hash and session_key:
        if len(_checked) >= CHECKED_MAX:
            _checked.clear()
        _checked[sid] = (session_key, user.pk, auth_hash)
    return user, payload


def _session_open(sid: str, sub: str) -> tuple[User, str, str] | None:
    """``(user, session key, the session's password hash)`` when the token's session (by
    its ``sid``) is alive and signs in, as of now, the user ``sub`` names; ``None`` in every
    other case, which then goes to allauth's check (the only one that refuses).

    What allauth and Django's ``get_user`` check, read in one query instead of a session
    load and an ORM query for the user: the session row exists unexpired, names this user
    and a backend of ``AUTHENTICATION_BACKENDS`` that loads users as ``ModelBackend`` does,
    the user is active, and the session's password hash is the user's under the current
    secret key (a hash under a fallback key goes the long way, which rotates it)."""
    if not sqlrows.HAND_WRITTEN or settings.SESSION_ENGINE not in DATABASE_SESSION_ENGINES:
        return None
    session_key = jwt_internal.session_key_from_sid(sid)
    try:
        user_id = int(sub)
    except ValueError:
        return None
    if not session_key or not sqlrows.is_id(user_id):
        return None
    connection = connections[DEFAULT_DB_ALIAS]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    found = sqlrows.fetch(_session_open_sql(), [user_id, session_key, now])
    if not found:
        return None
    columns = sqlrows.columns(User, "u")
    user = columns.instance(found[0][: len(columns)], connection)
    data = import_module(settings.SESSION_ENGINE).SessionStore().decode(found[0][-1])
    backend = data.get(BACKEND_SESSION_KEY)
    auth_hash = data.get(HASH_SESSION_KEY)
    if (
        not isinstance(user, User)
        or not data.get(SESSION_KEY) == sub == user._meta.pk.value_to_string(user)
        or backend not in settings.AUTHENTICATION_BACKENDS
        or backend not in MODEL_BACKENDS
        or not user.is_active
        or not isinstance(auth_hash, str)
        or not constant_time_compare(auth_hash, user.get_session_auth_hash())
    ):
        return None
    return user, session_key, auth_hash


@cache
def _session_open_sql() -> str:
    from django.contrib.sessions.models import Session

    s = sqlrows.column
    return (  # names are quoted by the connection, values are parameters
        f"SELECT {sqlrows.columns(User, 'u').sql}, {s(Session, 'session_data', 's')}"  # noqa: S608
        f" FROM {sqlrows.table(Session)} s INNER JOIN {sqlrows.table(User)} u"
        f" ON {s(User, 'id', 'u')} = %s"
        f" WHERE {s(Session, 'session_key', 's')} = %s AND {s(Session, 'expire_date', 's')} > %s"
    )


def _session_user(session_key: str, user_id: int, auth_hash: str) -> User | None:
    """The user, if the session row still exists unexpired and the user may still sign in
    with the password the session was opened with; one query."""
    if sqlrows.HAND_WRITTEN:
        connection = connections[DEFAULT_DB_ALIAS]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        found = sqlrows.fetch(_session_user_sql(), [user_id, session_key, now])
        user = sqlrows.columns(User, "u").instance(found[0]) if found else None
    else:  # the benchmark switch (bench/api.py --orm): the same query through the ORM
        user = _session_user_orm(session_key, user_id)
    if not isinstance(user, User):
        return None
    if not user.is_active or not _session_hash_matches(user, auth_hash):
        return None
    return user


def _session_user_orm(session_key: str, user_id: int) -> User | None:
    from django.contrib.sessions.models import Session

    alive = Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now())
    return User.objects.filter(pk=user_id).filter(Exists(alive)).first()


@cache
def _session_user_sql() -> str:
    from django.contrib.sessions.models import Session

    return (  # names are quoted by the connection, values are parameters
        f"SELECT {sqlrows.columns(User, 'u').sql} FROM {sqlrows.table(User)} u"  # noqa: S608
        f" WHERE {sqlrows.column(User, 'id', 'u')} = %s AND EXISTS (SELECT 1 FROM"
        f" {sqlrows.table(Session)} s WHERE {sqlrows.column(Session, 'session_key', 's')} = %s"
        f" AND {sqlrows.column(Session, 'expire_date', 's')} > %s)"
    )


def token_family_revoke(session: SessionBase, *, reason: str) -> None:
    """End the session a token family hangs on: every token issued in it stops working."""
    from allauth.usersessions.models import UserSession

    key = session.session_key
    log.warning("token family revoked", extra={"reason": reason})
    if key:
        UserSession.objects.filter(session_key=key).delete()
        session.delete(key)


class PawfileJWTStrategy(JWTTokenStrategy):
    """allauth's JWT strategy with audience checks and refresh-token reuse detection."""

    def get_claims(self, user: AbstractBaseUser) -> dict[str, Any]:
        return {"aud": settings.PAWFILE_JWT_AUDIENCE, "iss": settings.PAWFILE_BASE_URL}

    def _get_access_token(self, request: HttpRequest) -> dict[str, Any] | None:
        credential = get_authorization_credential(
            request, app_settings.JWT_AUTHORIZATION_HEADER_SCHEME
        )
        if credential is None:
            return None
        result = access_token_validate(credential)
        return None if result is None else result[1]

    def refresh_token(self, refresh_token: str) -> tuple[str, str] | None:
        """Exchange a refresh token for a new access + refresh pair, or ``None``.

        A refresh token that was already exchanged revokes its whole family.
        """
        payload = jwt_internal.decode_token(refresh_token, "refresh")
        if payload is None:
            return None
        session = jwt_internal.get_token_session(payload)
        if session is None:
            return None
        now = time.time()
        rotated: dict[str, int] = {
            jti: exp for jti, exp in session.get(ROTATED_KEY, {}).items() if exp > now
        }
        jti = payload["jti"]
        if jti in rotated:
            token_family_revoke(session, reason="refresh token reused")
            return None
        # The session remembers rotated tokens only once this exchange has saved it; the
        # claim closes the window before that, on every node that shares the cache.
        claim_ttl = max(1, int(payload["exp"] - now))
        if not caches["default"].add(f"{CLAIM_PREFIX}{jti}", 1, timeout=claim_ttl):
            token_family_revoke(session, reason="refresh token presented twice at once")
            return None
        active = jwt_internal.get_refresh_token_state(session)
        expires = active.get(jti)
        if expires is None or expires <= now:
            return None
        user = jwt_internal.validate_token_user(payload, session)
        if user is None:
            return None
        access = jwt_internal.create_access_token(user, session, self.get_claims(user))
        jwt_internal.invalidate_refresh_token(session, payload)
        rotated[jti] = int(payload["exp"])
        session[ROTATED_KEY] = rotated
        next_refresh = jwt_internal.create_refresh_token(user, session)
        try:
            session.save()
        except UpdateError:  # the family was revoked meanwhile: these tokens are dead too
            return None
        return access, next_refresh
