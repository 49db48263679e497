"""A session's data decoded once per process for each text of it (``accounts.sessions``):
Django's answer, a new dict on every read, and nothing kept or believed that Django's own
check refuses (tampered data, a changed secret key)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.backends import db as django_db
from django.test import override_settings

from pawfile.accounts import sessions
from pawfile.accounts.sessions import cached_db, db

DATA = {"_auth_user_id": "7", "_auth_user_backend": "x.Backend", "nested": {"a": [1, 2]}}


@pytest.fixture(autouse=True)
def _forget() -> None:
    sessions._verified.clear()


@pytest.mark.parametrize("engine", [db, cached_db])
def test_the_same_answer_as_django_and_a_new_dict_each_time(engine: Any) -> None:
    signed = django_db.SessionStore().encode(DATA)
    store = engine.SessionStore()
    first = store.decode(signed)
    assert first == DATA == django_db.SessionStore().decode(signed)
    assert len(sessions._verified) == 1
    first["nested"]["a"].append(3)  # a read's dict changed in place...
    first["more"] = 1
    again = store.decode(signed)
    assert again == DATA and again is not first  # ...is not what the next read gets


def test_tampered_data_is_refused_and_never_kept() -> None:
    signed = django_db.SessionStore().encode(DATA)
    tampered = signed[:-2] + ("AA" if signed[-2:] != "AA" else "BB")
    store = db.SessionStore()
    assert store.decode(tampered) == {} and sessions._verified == {}
    assert store.decode(signed) == DATA


def test_a_changed_secret_key_is_another_check() -> None:
    signed = django_db.SessionStore().encode(DATA)
    assert db.SessionStore().decode(signed) == DATA  # kept under the current key
    with override_settings(SECRET_KEY="another-secret-key-" * 3):
        assert db.SessionStore().decode(signed) == {}  # as Django: signed with the old key
        assert django_db.SessionStore().decode(signed) == {}
    with override_settings(SECRET_KEY="another-secret-key-" * 3, SECRET_KEY_FALLBACKS=["x"]):
        assert db.SessionStore().decode(signed) == {}


def test_the_kept_texts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sessions, "VERIFIED_MAX", 3)
    store = db.SessionStore()
    for n in range(10):
        assert store.decode(store.encode({"n": n})) == {"n": n}
        assert len(sessions._verified) <= 3
