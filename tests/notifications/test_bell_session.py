"""The bell's count read with the session (``registry.register_shell_state(sql=...)``,
``accounts.sessions.shell_value``): the same number ``unread_count`` gives, no statement of
its own on a signed-in GET, a change shown on the next page, and a fresh count after a
write or for anyone the session read did not bring."""

from __future__ import annotations

import re
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pawfile.accounts import middleware
from pawfile.accounts.middleware import session_user
from pawfile.accounts.sessions import session_row, shell_value
from pawfile.notifications import selectors
from pawfile.notifications.choices import Kind
from pawfile.notifications.models import Notification
from pawfile.notifications.services import notification_send
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

BELL = re.compile(r"data-notification-count[^>]*>\s*(\d+)\s*<")


def _note(user, key: str) -> Notification:
    found = notification_send(
        recipient=user, kind=Kind.REMINDER, title="Pill time", body="Give Rex his pill.",
        event_key=key,
    )  # fmt: skip
    assert found is not None
    return found


def _page(client: Client, path: str = "/pets/") -> tuple[int, list[str]]:
    """The bell's number on ``path`` and the statements that counted on their own."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    found = BELL.search(response.content.decode())
    assert found is not None
    counts = [
        q["sql"]
        for q in queries.captured_queries
        if "COUNT(*)" in q["sql"] and 'FROM "django_session"' not in q["sql"]
        and "notifications_notification" in q["sql"]
    ]  # fmt: skip
    return int(found.group(1)), counts


def test_a_get_shows_the_count_read_with_the_session_and_follows_changes(cast: Cast) -> None:
    middleware._session_users.clear()
    client = cast.client_for("alice")
    assert _page(client)[0] == 0  # learns the session's user: the count is its own read
    for n in range(3):
        _note(cast.alice, f"r:{n}")
    _note(cast.bob, "r:9")  # someone else's
    assert _page(client) == (3, [])  # with the session's statement, none of its own
    Notification.objects.filter(recipient=cast.alice, event_key="r:0").update(
        read_at=timezone.now()
    )
    Notification.objects.filter(recipient=cast.alice, event_key="r:1").update(in_inbox=False)
    assert _page(client) == (1, []) == (selectors.unread_count(user=cast.alice), [])
    assert _page(cast.client_for("bob"))[0] == 1


def _request(cast: Cast, method: str = "get") -> Any:
    """A request of alice's with a hinted session, its user read as the middleware does."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    client = cast.client_for("alice")
    request = getattr(RequestFactory(), method)("/")
    request.session = store(client.cookies[settings.SESSION_COOKIE_NAME].value)
    request.session.user_hint = cast.alice.pk
    request.user = session_user(request)
    return request


def test_the_session_read_brings_the_users_count(cast: Cast) -> None:
    _note(cast.alice, "r:1")
    _note(cast.alice, "r:2")
    request = _request(cast)
    assert request.session.hinted_shell == {"notifications": 2}
    assert shell_value(request, "notifications") == 2
    assert selectors.bell_count(request=request) == 2
    key = request.session.session_key
    assert session_row(key)[3] == {}  # no user asked: no count
    assert session_row(key, cast.bob.pk)[3] == {"notifications": 0}  # the id asked for


def test_a_write_or_another_user_counts_afresh(cast: Cast) -> None:
    request = _request(cast, "post")
    _note(cast.alice, "r:1")  # after the session was read
    assert shell_value(request, "notifications") is None
    assert selectors.bell_count(request=request) == 1
    request = _request(cast)
    request.user = cast.bob
    assert shell_value(request, "notifications") is None
    assert selectors.bell_count(request=request) == 0
    request = _request(cast)
    request.session.hinted_shell = {}  # the ORM's read
    assert selectors.bell_count(request=request) == 1
