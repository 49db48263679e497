"""The signed-in user of a browser session (``accounts.middleware.session_user``) and the
session engines' hand-written read (``accounts.sessions``): the same answers, and the same
effects on the session, as Django's ``auth.get_user`` and its own engines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends import cached_db as django_cached_db
from django.contrib.sessions.backends import db as django_db
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pawfile.accounts import middleware
from pawfile.accounts.context_processors import nav_households
from pawfile.accounts.middleware import session_user
from pawfile.accounts.models import Household, Membership
from pawfile.accounts.selectors import NavHouseholds
from pawfile.accounts.sessions import cached_db, db
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

MODEL = "django.contrib.auth.backends.ModelBackend"
ALLAUTH = "allauth.account.auth_backends.AuthenticationBackend"


def _store(engine: str = "") -> Any:
    return import_module(engine or settings.SESSION_ENGINE).SessionStore


def _session(user: Any, *, backend: str = MODEL, auth_hash: str | None = "") -> str:
    """A saved session signing in ``user`` as ``auth.login`` writes one; its key."""
    session = _store()()
    session[SESSION_KEY] = str(user.pk) if user is not None else "999999"
    session[BACKEND_SESSION_KEY] = backend
    if auth_hash is not None:
        session[HASH_SESSION_KEY] = auth_hash or user.get_session_auth_hash()
    session.save()
    return str(session.session_key)


def _answer(read: Callable[[Any], Any], key: str) -> tuple[Any, bool, str | None]:
    """``(user id or None, the session was flushed, the session key afterwards)``."""
    request = RequestFactory().get("/")
    request.session = _store()(key)
    user = read(request)
    flushed = request.session.is_empty() and not request.session.keys()
    return (user.pk if user.is_authenticated else None), flushed, request.session.session_key


def _both(key_for: Callable[[], str]) -> tuple[Any, Any]:
    """What Django's ``get_user`` and ``session_user`` answer, each on a session of its own
    made the same way."""
    return _answer(auth.get_user, key_for()), _answer(session_user, key_for())


@pytest.mark.parametrize("backend", [MODEL, ALLAUTH])
def test_a_good_session_signs_its_user_in(cast: Cast, backend: str) -> None:
    django_answer, ours = _both(lambda: _session(cast.alice, backend=backend))
    assert ours[0] == django_answer[0] == cast.alice.pk
    assert not ours[1]


def test_an_inactive_or_missing_user_is_nobody_and_the_session_is_kept(cast: Cast) -> None:
    cast.bob.is_active = False
    cast.bob.save()
    for user in (cast.bob, None):
        django_answer, ours = _both(lambda user=user: _session(user, auth_hash=None))
        assert ours[0] is None and django_answer[0] is None
        assert ours[1] == django_answer[1]


def test_a_password_changed_since_flushes_the_session(cast: Cast) -> None:
    stale = cast.alice.get_session_auth_hash()
    cast.alice.set_password("another-password-entirely-9")
    cast.alice.save()
    django_answer, ours = _both(lambda: _session(cast.alice, auth_hash=stale))
    assert ours[:2] == django_answer[:2] == (None, True)


def test_a_session_without_a_hash_is_flushed(cast: Cast) -> None:
    django_answer, ours = _both(lambda: _session(cast.alice, auth_hash=None))
    assert ours[:2] == django_answer[:2] == (None, True)


def test_a_backend_no_longer_configured_signs_nobody_in(cast: Cast) -> None:
    django_answer, ours = _both(lambda: _session(cast.alice, backend="x.y.GoneBackend"))
    assert ours[0] is None and django_answer[0] is None


def test_a_hash_under_a_fallback_key_rotates_the_session_key_and_the_hash(cast: Cast) -> None:
    with override_settings(SECRET_KEY="an-old-secret-key-" + "x" * 40):
        old_hash = cast.alice.get_session_auth_hash()
    with override_settings(SECRET_KEY_FALLBACKS=["an-old-secret-key-" + "x" * 40]):
        for read in (auth.get_user, session_user):
            key = _session(cast.alice, auth_hash=old_hash)
            request = RequestFactory().get("/")
            request.session = _store()(key)
            assert read(request).pk == cast.alice.pk
            assert request.session.session_key != key  # rotated
            assert request.session[HASH_SESSION_KEY] == cast.alice.get_session_auth_hash()


def _reads(client: Client, path: str = "/pets/") -> list[str]:
    """The statements of one page that read the session table or the user table."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    return [s for s in sql if 'FROM "django_session"' in s or 'FROM "accounts_user"' in s]


def test_a_session_seen_before_is_read_with_its_user_in_one_statement(cast: Cast) -> None:
    middleware._session_users.clear()
    client = cast.client_for("alice")
    first = _reads(client)  # the session (from the cache in cached_db), then the user
    assert len([s for s in first if 'FROM "accounts_user"' in s]) == 1
    again = _reads(client)
    assert len(again) == 1  # session and user together, from the database
    assert 'FROM "django_session"' in again[0] and '"accounts_user"' in again[0]


def test_a_session_read_before_its_hint_was_set_still_finds_its_user(cast: Cast) -> None:
    key = _session(cast.alice)
    request = RequestFactory().get("/")
    request.session = _store()(key)
    request.session.get(SESSION_KEY)  # read without a hint
    request.session.user_hint = cast.alice.pk  # type: ignore[attr-defined]
    assert session_user(request) == cast.alice


def test_a_hint_naming_another_user_is_not_believed(cast: Cast) -> None:
    client = cast.client_for("alice")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    middleware._session_users[key] = cast.bob.pk  # wrong: the session's data names alice
    html = client.get("/pets/").content.decode()
    assert cast.alice.email in html and cast.bob.email not in html
    assert middleware._session_users[key] == cast.alice.pk  # learned again


def test_a_hinted_session_still_ends_at_logout_and_at_a_password_change(cast: Cast) -> None:
    client = cast.client_for("alice")
    client.get("/pets/")
    client.get("/pets/")  # the hinted read
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert middleware._session_users.get(key) == cast.alice.pk
    Session.objects.filter(session_key=key).delete()  # as a logout elsewhere does
    import_module(settings.SESSION_ENGINE).SessionStore().delete(key)
    assert client.get("/pets/").status_code == 302
    other = cast.client_for("bob")
    other.get("/pets/")
    assert other.get("/pets/").status_code == 200  # hinted now
    cast.bob.set_password("another-password-entirely-9")
    cast.bob.save()
    assert other.get("/pets/").status_code == 302  # the hash no longer matches
    cast.carol.is_active = False
    cast.carol.save()
    assert cast.client_for("carol").get("/pets/").status_code == 302


# --- The engines' read -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "djangos"),
    [
        (db.SessionStore, django_db.SessionStore),
        (cached_db.SessionStore, django_cached_db.SessionStore),
    ],
)
def test_the_engines_read_what_djangos_read(cast: Cast, ours: Any, djangos: Any) -> None:
    session = djangos()
    session["colour"] = "teal"
    session[SESSION_KEY] = str(cast.alice.pk)
    session.save()
    key = str(session.session_key)
    if hasattr(session, "_cache"):
        session._cache.delete(session.cache_key)  # the database read, not the cache's copy
    mine, theirs = ours(key), djangos(key)
    assert mine.load() == theirs.load() == {"colour": "teal", SESSION_KEY: str(cast.alice.pk)}
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    if hasattr(session, "_cache"):
        session._cache.delete(session.cache_key)
    mine, theirs = ours(key), djangos(key)
    assert mine.load() == theirs.load() == {}
    assert mine.session_key is None and theirs.session_key is None  # the dead key forgotten
    assert ours("nosuchsessionkey0123456789").load() == {}


def test_sign_in_and_out_through_the_engine(cast: Cast) -> None:
    client = Client()
    assert client.login(email=cast.alice.email, password="correct-horse-battery-42")
    assert client.get("/pets/").status_code == 200
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=key).exists()
    client.logout()
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/pets/").status_code == 302  # to the sign-in page


# --- The header's households --------------------------------------------------------------


def test_the_header_lists_the_users_households_oldest_membership_first(cast: Cast) -> None:
    later = Household.objects.create(name="Beach house")
    Membership.objects.create(household=later, user=cast.alice, role="viewer")
    names = [str(h) for h in NavHouseholds(cast.alice).all()]
    assert names == [cast.household.name, "Beach house"]
    assert [h.pk for h in NavHouseholds(cast.charlie).all()] == [
        m.household_id for m in Membership.objects.filter(user=cast.charlie)
    ]
    assert cast.household.pk not in [h.pk for h in NavHouseholds(cast.charlie).all()]


def _header_queries(client: Client, method: str = "get") -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)("/pets/")
    sql = [q["sql"] for q in queries.captured_queries]
    # the header's read (accounts.selectors._nav_sql) and the session's both select "h"."name"
    return response.content.decode(), [s for s in sql if '"h"."name"' in s]


def test_a_get_reads_the_header_households_with_the_session(cast: Cast) -> None:
    """bob is a caretaker of alice's household, has his own, and joins a third last: the
    header lists the three, oldest membership first, from the session's statement."""
    later = Household.objects.create(name="Beach house")
    Membership.objects.create(household=later, user=cast.bob, role="viewer")
    expected = [(h.pk, str(h)) for h in NavHouseholds(cast.bob).all()]
    assert len(expected) == 3
    middleware._session_users.clear()
    client = cast.client_for("bob")
    learning = _header_queries(client)[1]  # learns the session's user: a read of its own
    assert len(learning) == 1 and 'FROM "django_session"' not in learning[0]
    html, reads = _header_queries(client)
    assert len(reads) == 1 and 'FROM "django_session"' in reads[0]  # nothing more
    request = RequestFactory().get("/")
    request.session = _store()(client.cookies[settings.SESSION_COOKIE_NAME].value)
    request.session.user_hint = cast.bob.pk  # type: ignore[attr-defined]
    request.user = session_user(request)
    rows = nav_households(request).all()
    assert [(h.pk, h.name) for h in rows] == expected
    # A rename shows on the next page; a user without households gets an empty menu.
    later.name = "Mountain cabin"
    later.save()
    assert "Mountain cabin" in _header_queries(client)[0]
    Membership.objects.filter(user=cast.bob).delete()
    html, reads = _header_queries(client)
    assert "Mountain cabin" not in html and cast.household.name not in html


def test_a_post_reads_the_header_households_afresh(cast: Cast) -> None:
    request = RequestFactory().post("/")
    request.user = cast.alice
    request.session = _store()(_session(cast.alice))
    request.session.hinted_for = cast.alice.pk  # type: ignore[attr-defined]
    request.session.hinted_households = [(1, "Stale")]  # type: ignore[attr-defined]
    assert [h.name for h in nav_households(request).all()] == [cast.household.name]
    request.method = "GET"
    assert [h.name for h in nav_households(request).all()] == ["Stale"]  # as read with it
