"""The first call of an access token: its session and user read in one query, with the
checks allauth makes, and every case that check does not accept left to allauth.

Each token here hangs on a session of its own, made as a headless login makes one and then
spoilt in one way; the answer of ``access_token_validate`` must be allauth's own, and the
short check must never accept what allauth refuses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from importlib import import_module

import pytest
from allauth.headless.tokens.strategies.jwt import internal as jwt_internal
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pawfile.accounts import tokens
from pawfile.accounts.models import User
from tests.conftest import Cast

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _session(user: User, **changes: object) -> SessionBase:
    """A signed-in session of ``user`` as a login leaves it, with ``changes`` to its keys
    (``None`` removes one)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = MODEL_BACKEND
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    for key, value in changes.items():
        if value is None:
            del session[key]
        else:
            session[key] = value
    session.save()
    return session


def _token(user: User, session: SessionBase) -> str:
    claims = tokens.PawfileJWTStrategy().get_claims(user)
    return jwt_internal.create_access_token(user, session, claims)


def _expire(session: SessionBase) -> None:
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    cached = getattr(session, "cache_key", None)
    if cached:  # a cached copy (scale-out) expires with the session
        caches[settings.SESSION_CACHE_ALIAS].delete(cached)


def _allauth_answer(token: str) -> int | None:
    """The user id allauth's own check gives the token, or ``None``."""
    payload = tokens.access_token_decode(token)
    assert payload is not None
    session = jwt_internal.get_token_session(payload)
    user = jwt_internal.validate_token_user(payload, session) if session else None
    return None if user is None else user.pk


def _valid(cast: Cast) -> str:
    return _token(cast.alice, _session(cast.alice))


def _another_users_session(cast: Cast) -> str:
    return _token(cast.bob, _session(cast.alice))  # sub: bob, sid: alice's session


def _deleted(cast: Cast) -> str:
    session = _session(cast.alice)
    token = _token(cast.alice, session)
    import_module(settings.SESSION_ENGINE).SessionStore().delete(session.session_key)
    return token


def _expired(cast: Cast) -> str:
    session = _session(cast.alice)
    _expire(session)
    return _token(cast.alice, session)


def _password_changed(cast: Cast) -> str:
    token = _token(cast.alice, _session(cast.alice))
    cast.alice.set_password("changed-elsewhere-since-9")
    cast.alice.save()
    return token


def _deactivated(cast: Cast) -> str:
    token = _token(cast.alice, _session(cast.alice))
    User.objects.filter(pk=cast.alice.pk).update(is_active=False)
    return token


def _unknown_backend(cast: Cast) -> str:
    return _token(cast.alice, _session(cast.alice, **{BACKEND_SESSION_KEY: "x.y.Backend"}))


def _no_hash(cast: Cast) -> str:
    return _token(cast.alice, _session(cast.alice, **{HASH_SESSION_KEY: None}))


def _no_user(cast: Cast) -> str:
    return _token(cast.alice, _session(cast.alice, **{SESSION_KEY: None}))


CASES: dict[str, Callable[[Cast], str]] = {
    "valid": _valid,
    "another user's session": _another_users_session,
    "session deleted": _deleted,
    "session expired": _expired,
    "password changed since": _password_changed,
    "user deactivated": _deactivated,
    "backend not configured": _unknown_backend,
    "no password hash": _no_hash,
    "no user in the session": _no_user,
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_first_call_answers_as_allauth(cast: Cast, case: str) -> None:
    token = CASES[case](cast)
    payload = tokens.access_token_decode(token)
    assert payload is not None

    short = tokens._session_open(payload["sid"], payload["sub"])
    found = tokens.access_token_validate(token)
    expected = _allauth_answer(token)

    assert (found[0].pk if found else None) == expected
    assert (expected is not None) is (case == "valid")
    if case == "valid":
        assert short is not None and short[0].pk == cast.alice.pk
    else:
        assert short is None  # refusals are allauth's to make


def test_first_call_checks_the_token_with_one_query(cast: Cast) -> None:
    token = _valid(cast)
    with CaptureQueriesContext(connection) as queries:
        response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert "session_data" in queries[0]["sql"]  # the session row and the user, together


class NobodyBackend:
    """A configured backend that loads users its own way (here: never)."""

    def get_user(self, user_id: object) -> None:
        return None


def test_a_backend_of_another_kind_is_left_to_allauth(cast: Cast, settings) -> None:
    backend = f"{__name__}.NobodyBackend"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, backend]
    token = _token(cast.alice, _session(cast.alice, **{BACKEND_SESSION_KEY: backend}))
    payload = tokens.access_token_decode(token)
    assert payload is not None

    assert tokens._session_open(payload["sid"], payload["sub"]) is None
    assert tokens.access_token_validate(token) is None
    assert _allauth_answer(token) is None
