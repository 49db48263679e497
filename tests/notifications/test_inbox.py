"""The inbox on the web and in the API: only the recipient sees or changes a notification
(anyone else 404, signed out: the login page or 401), changes only by POST/PATCH/DELETE,
and the live poll's 304 while nothing changed."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pawfile.notifications.choices import Kind
from pawfile.notifications.models import Notification
from pawfile.notifications.services import notification_send
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def note(
    user, key: str = "r:1", kind: str = Kind.REMINDER, title: str = "Pill time"
) -> Notification:
    found = notification_send(
        recipient=user, kind=kind, title=title, body="Give Rex his pill.", event_key=key
    )
    assert found is not None
    return found


# Who may do what to alice's notification: only alice. bob shares her household, carol
# views it, charlie is a stranger: a notification is personal, all get 404.
WEB_CHANGES = [
    ("post", "/notifications/{id}/read"),
    ("post", "/notifications/{id}/delete"),
]


def test_nobody_but_the_recipient_changes_a_notification_on_the_web(cast: Cast) -> None:
    mine = note(cast.alice)
    for who in ("bob", "carol", "charlie", None):
        client = cast.client_for(who)
        for method, path in WEB_CHANGES:
            response = getattr(client, method)(path.format(id=mine.pk))
            if who is None:  # signed out: the login page
                assert response.status_code == 302, (who, path)
                assert "/accounts/login/" in response["Location"]
            else:
                assert response.status_code == 404, (who, path)
    # A GET never changes anything, even the recipient's.
    alice = cast.client_for("alice")
    for path in (
        "/notifications/{id}/read",
        "/notifications/{id}/delete",
        "/notifications/read-all",
    ):
        assert alice.get(path.format(id=mine.pk)).status_code == 405
    assert Notification.objects.filter(pk=mine.pk, read_at__isnull=True).exists()


def test_the_recipient_reads_filters_marks_and_deletes(cast: Cast) -> None:
    first = note(cast.alice, "r:1", title="Pill time")
    second = note(cast.alice, "u:1", kind=Kind.PET_UPDATE, title="Rex at the park")
    client = cast.client_for("alice")

    page = client.get("/notifications/").content.decode()
    assert "Pill time" in page and "Rex at the park" in page
    page = client.get("/notifications/?kind=pet_update").content.decode()
    assert "Pill time" not in page and "Rex at the park" in page
    # The bell on every page counts her unread ones.
    assert "data-notification-count>2<" in client.get("/pets/").content.decode()

    assert client.post(f"/notifications/{first.pk}/read").status_code == 302
    page = client.get("/notifications/?unread=1").content.decode()
    assert "Pill time" not in page and "Rex at the park" in page
    client.post("/notifications/read-all", {"next": "https://evil.example/"})
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    response = client.post(f"/notifications/{second.pk}/delete", {"next": "/pets/"})
    assert response["Location"] == "/pets/"
    assert list(Notification.objects.values_list("pk", flat=True)) == [first.pk]
    assert "hidden>0<" in client.get("/pets/").content.decode().replace(" ", "")


def test_the_live_poll_answers_304_until_the_inbox_changes(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    client = cast.client_for("alice")
    first = client.get("/notifications/live")
    assert first.status_code == 200 and json.loads(first.content)["unread"] == 0
    etag = first["ETag"]
    assert client.get("/notifications/live", headers={"If-None-Match": etag}).status_code == 304

    with django_capture_on_commit_callbacks(execute=True):  # the revision is published
        made = note(cast.alice)
    changed = client.get("/notifications/live", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    body = json.loads(changed.content)
    assert body["unread"] == 1 and body["latest"]["id"] == made.pk
    assert body["latest"]["title"] == "Pill time"
    assert changed["ETag"] != etag
    # Another person's change does not disturb hers.
    with django_capture_on_commit_callbacks(execute=True):
        note(cast.bob)
    assert (
        client.get("/notifications/live", headers={"If-None-Match": changed["ETag"]}).status_code
        == 304
    )


def test_the_unchanged_poll_reads_at_most_the_revision(cast: Cast, settings) -> None:
    client = cast.client_for("alice")
    etag = client.get("/notifications/live")["ETag"]
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/notifications/live", headers={"If-None-Match": etag}).status_code == 304
    # The session's read carries the bell's count (accounts.sessions): not a read of the poll.
    notification_queries = [
        q["sql"]
        for q in queries
        if "notification" in q["sql"] and 'FROM "django_session"' not in q["sql"]
    ]
    if settings.NOTIFY_REVISION_CACHE:
        assert notification_queries == []
    else:
        assert len(notification_queries) == 1 and "revision" in notification_queries[0]


def test_the_live_poll_is_refused_signed_out() -> None:
    assert Client().get("/notifications/live").status_code == 403


# --- API -------------------------------------------------------------------------------------


API_CALLS = [
    ("get", "/api/v1/notifications/{id}", None),
    ("patch", "/api/v1/notifications/{id}", {"read": True}),
    ("delete", "/api/v1/notifications/{id}", None),
]


def test_api_access_table(cast: Cast) -> None:
    """Each call as bob, carol, charlie (404), signed out (401), then alice (allowed)."""
    mine = note(cast.alice)
    for who, status in (("bob", 404), ("carol", 404), ("charlie", 404), (None, 401)):
        client = cast.client_for(who)
        for method, path, body in API_CALLS:
            kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body else {}
            response = getattr(client, method)(path.format(id=mine.pk), **kwargs)
            assert response.status_code == status, (who, method)
    assert Notification.objects.filter(pk=mine.pk, read_at__isnull=True).exists()
    alice = cast.client_for("alice")
    for method, path, body in API_CALLS:
        kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body else {}
        response = getattr(alice, method)(path.format(id=mine.pk), **kwargs)
        assert response.status_code in (200, 204), method
    assert not Notification.objects.exists()


def test_api_lists_filters_counts_and_marks(cast: Cast) -> None:
    note(cast.alice, "r:1")
    second = note(cast.alice, "u:1", kind=Kind.PET_UPDATE, title="Rex at the park")
    note(cast.bob, "r:1")
    client = cast.client_for("alice")

    listed = client.get("/api/v1/notifications").json()
    assert [n["title"] for n in listed["items"]] == ["Rex at the park", "Pill time"]
    only = client.get("/api/v1/notifications?kind=pet_update").json()
    assert [n["id"] for n in only["items"]] == [second.pk]
    assert client.get("/api/v1/notifications?kind=nonsense").status_code == 422
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 2}
    patched = client.patch(
        f"/api/v1/notifications/{second.pk}", json.dumps({"read": True}),
        content_type="application/json",
    )  # fmt: skip
    assert patched.status_code == 200 and patched.json()["read_at"] is not None
    assert (
        client.get("/api/v1/notifications?unread=true").json()["items"][0]["title"] == "Pill time"
    )
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 1}
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 0}


def test_unchanged_polls_are_answered_in_front_of_django(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    """``live_poll`` answers 304 itself for the session the ETag was made for while the
    revision holds; anything else reaches Django."""
    from django.conf import settings as django_settings

    from pawfile.notifications.live import live_poll

    client = cast.client_for("alice")
    etag = client.get("/notifications/live")["ETag"]
    session_key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    reached: list[str] = []

    def django_app(environ, start_response):
        reached.append(environ.get("HTTP_IF_NONE_MATCH", ""))
        start_response("200 OK", [])
        return [b"{}"]

    app = live_poll(django_app)

    def poll(etag_sent: str, session: str = session_key) -> str:
        statuses: list[str] = []
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": "/notifications/live",
            "HTTP_IF_NONE_MATCH": etag_sent,
            "HTTP_COOKIE": f"{django_settings.SESSION_COOKIE_NAME}={session}",
        }  # fmt: skip
        app(environ, lambda status, headers: statuses.append(status))
        return statuses[0]

    assert poll(etag) == "304 Not Modified" and reached == []
    assert poll(etag, session="another-session") == "200 OK"  # not the session it was made for
    assert poll(etag.replace("-", "-9", 1)) == "200 OK"  # a forged revision
    with django_capture_on_commit_callbacks(execute=True):
        note(cast.alice)
    assert poll(etag) == "200 OK"  # the inbox changed: Django answers with the news
    assert len(reached) == 3


def _front_poll(etag: str, cookie: str) -> str:
    """The status ``live_poll`` gives a poll: its own 304, or "to Django"."""
    from pawfile.notifications.live import live_poll

    def django_app(environ, start_response):
        start_response("299 to Django", [])
        return [b""]

    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/notifications/live",
        "HTTP_IF_NONE_MATCH": etag, "HTTP_COOKIE": cookie,
    }  # fmt: skip
    live_poll(django_app)(environ, lambda status, headers: statuses.append(status))
    return statuses[0]


def test_the_live_etag_is_djangos_salted_hmac_and_follows_the_secret_key(settings) -> None:
    """The MAC, its key derived once per process, is ``salted_hmac``'s (ETags of pages left
    open across an upgrade stay valid), and a new secret key is taken at once."""
    from django.utils.crypto import salted_hmac

    from pawfile.notifications import live

    def django_mac() -> str:
        return salted_hmac(live.SALT, "7:3:abc").hexdigest()[:20]

    before = live.etag_make(user_id=7, revision=3, session_key="abc")
    assert before == f'"n7-3-{django_mac()}"'
    assert live.etag_read(before, session_key="abc") == (7, 3)
    assert live.etag_read(before, session_key="abd") is None
    settings.SECRET_KEY = "another-secret-key-for-this-test-" + "x" * 20
    after = live.etag_make(user_id=7, revision=3, session_key="abc")
    assert after == f'"n7-3-{django_mac()}"' and after != before
    assert live.etag_read(before, session_key="abc") is None


def test_the_front_poll_reads_the_session_cookie_as_django_does(cast: Cast) -> None:
    """Among a browser's other cookies the session cookie is found; when it is sent twice
    the last one counts, as for Django; a cookie whose name only ends like it does not."""
    from django.conf import settings as django_settings

    client = cast.client_for("alice")
    etag = client.get("/notifications/live")["ETag"]
    name = django_settings.SESSION_COOKIE_NAME
    key = client.cookies[name].value
    assert _front_poll(etag, f"csrftoken=abc; {name}={key}; theme=dark") == "304 Not Modified"
    assert _front_poll(etag, f"{name}=stale; other=1;{name} = {key} ") == "304 Not Modified"
    assert _front_poll(etag, f"{name}={key}; {name}=stale") == "299 to Django"
    assert _front_poll(etag, f"x{name}={key}") == "299 to Django"
    assert _front_poll(etag, "csrftoken=abc") == "299 to Django"
    assert _front_poll("garbage", f"{name}={key}") == "299 to Django"


def test_a_change_committed_elsewhere_reaches_the_next_front_poll(
    cast: Cast, transactional_db: None
) -> None:
    """The revision read in front of Django is the latest committed one: a notification
    sent and committed by another connection (another thread here; another process in
    production) ends the 304s of this thread's very next poll, whose connection or cache
    handle was kept from the polls before."""
    import threading

    from django.conf import settings as django_settings
    from django.db import connection as thread_connection

    client = cast.client_for("alice")
    etag = client.get("/notifications/live")["ETag"]
    name = django_settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}"
    assert _front_poll(etag, cookie) == "304 Not Modified"
    assert _front_poll(etag, cookie) == "304 Not Modified"

    def send_elsewhere() -> None:
        try:
            note(cast.alice)  # its own connection, committed (on_commit publishes)
        finally:
            thread_connection.close()

    sender = threading.Thread(target=send_elsewhere)
    sender.start()
    sender.join(timeout=30)
    assert Notification.objects.filter(recipient=cast.alice).count() == 1
    assert _front_poll(etag, cookie) == "299 to Django"


def test_a_front_poll_outlives_redis_closing_its_connection(cast: Cast, settings) -> None:
    """Scale-out: the thread's own Redis connection, closed by Redis while idle (a server
    ``timeout``, a restart), is made again and the poll still answers 304 itself."""
    if not settings.NOTIFY_REVISION_CACHE:
        pytest.skip("the revision is read from Redis in scale-out only")
    from django.core.cache import cache

    from pawfile.notifications import live

    client = cast.client_for("alice")
    etag = client.get("/notifications/live")["ETag"]
    name = settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}"
    assert _front_poll(etag, cookie) == "304 Not Modified"
    mine = live._local.redis[1]
    mine.send_command("CLIENT", "ID")
    client_id = mine.read_response()
    redis_client = cache._cache.get_client(None)
    assert redis_client.client_kill_filter(_id=client_id) == 1
    assert _front_poll(etag, cookie) == "304 Not Modified"


def test_the_bell_count_is_the_unread_inbox_count(cast: Cast) -> None:
    """``selectors.unread_count`` is a statement of its own (it runs on every page): it
    gives what the queryset gives, whatever mix of read, unread, out-of-inbox and other
    people's notifications there is."""
    from django.utils import timezone

    from pawfile.notifications import selectors

    def orm(user) -> int:
        return selectors.inbox(user=user, unread=True).count()

    assert selectors.unread_count(user=cast.alice) == orm(cast.alice) == 0
    for n in range(4):
        note(cast.alice, key=f"r:{n}")
    note(cast.bob, key="r:9")
    Notification.objects.filter(recipient=cast.alice, event_key="r:0").update(
        read_at=timezone.now()
    )
    Notification.objects.filter(recipient=cast.alice, event_key="r:1").update(in_inbox=False)
    for user, expected in ((cast.alice, 2), (cast.bob, 1), (cast.carol, 0)):
        assert selectors.unread_count(user=user) == orm(user) == expected
