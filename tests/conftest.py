"""Shared fixtures: the cast of test users and a clean cache for every test.

The cast (used by every access-control table):
alice owns a household; bob is its caretaker; carol its viewer; charlie is a stranger with a
household of his own. All have verified emails and the password ``PASSWORD``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from pawfile.accounts import services
from pawfile.accounts.choices import Role
from pawfile.accounts.models import Household, Membership, User

PASSWORD = "correct-horse-battery-42"

pytest_plugins = ["tests.smtp", "tests.s3"]


def make_user(email: str, name: str = "") -> User:
    """A user with a verified primary email and their own household."""
    user = services.user_create(email=email, password=PASSWORD, name=name)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


@dataclass
class Cast:
    alice: User
    bob: User
    carol: User
    charlie: User
    household: Household  # alice's

    def client_for(self, name: str | None) -> Client:
        """A test client signed in as ``name`` (``None`` for anonymous)."""
        client = Client()
        if name is not None:
            client.force_login(getattr(self, name))
        return client


@pytest.fixture
def cast(db: None) -> Cast:
    alice = make_user("alice@example.org", "Alice")
    bob = make_user("bob@example.org", "Bob")
    carol = make_user("carol@example.org", "Carol")
    charlie = make_user("charlie@example.org", "Charlie")
    household = Household.objects.get(memberships__user=alice)
    Membership.objects.create(household=household, user=bob, role=Role.CARETAKER)
    Membership.objects.create(household=household, user=carol, role=Role.VIEWER)
    return Cast(alice, bob, carol, charlie, household)


@pytest.fixture
def pet(cast: Cast):
    """Rex, a dog of alice's household."""
    from pawfile.pets.models import Pet

    return Pet.objects.create(household=cast.household, name="Rex", species="dog", breed="Beagle")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path) -> None:
    """Uploaded files of a test land in its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


def response_close(response) -> None:
    """Close a (streamed) test response without the end-of-request hook.

    ``response.close()`` fires ``request_finished``, whose connection clean-up closes the
    database connection a test transaction is using on PostgreSQL; the test client silences
    that hook during its own requests, and so does this.
    """
    from django.core.signals import request_finished
    from django.db import close_old_connections

    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def cache_reset() -> None:
    """Empty this test worker's cache keys (never FLUSHDB: workers share one Redis), and the
    pet page's cards each process keeps in memory in front of it."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    from pawfile.pets.dashboard import dashboard_kept_clear

    dashboard_kept_clear()

    backend = caches["default"]  # the backend itself, not the connection proxy
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)
        for key in client.scan_iter(f"{backend.key_prefix}*"):
            client.delete(key)
    else:
        backend.clear()


@pytest.fixture(scope="session", autouse=True)
def _stray_connections_closed(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Before the test database is dropped, end PostgreSQL sessions other threads left open.

    The browser tests' live server answers keep-alive connections in daemon threads; one may
    still hold a database session when the run ends, and PostgreSQL refuses to drop a
    database in use.
    """
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.vendor != "postgresql":
                continue
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Rate-limit counters and cached pages never leak from one test to the next."""
    cache_reset()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language: a request through ``LocaleMiddleware`` (the
    test client runs in the test's own thread) leaves its language active afterwards."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
