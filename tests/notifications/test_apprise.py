"""Apprise targets: entered and checked with Apprise itself, stored encrypted, shown masked,
tested with a button, and delivered through the outbox with Apprise's own ``notify()`` to a
local server behind its ``json://`` and ``ntfy://`` targets (real HTTP). A 500 or a timeout
is retried, not blocked; a stored URL that no longer decrypts is permanent: the channel is
blocked and the person told in the inbox. Private addresses are refused unless allowed.
Targets are per person: anyone else's is 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.db import connection
from django.utils import timezone

from pawfile.notifications.channels import apprise
from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import AppriseTarget, ChannelBlock, Delivery, Notification
from pawfile.notifications.services import notification_send
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.models import OutboxMessage
from pawfile.outbox.services import outbox_deliver
from tests.conftest import Cast
from tests.notifications.fakeservers import Answer, FakeServer, fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(settings) -> Iterator[FakeServer]:
    """A local webhook for Apprise's targets; reaching 127.0.0.1 needs the allowance."""
    settings.APPRISE_ALLOW_PRIVATE = True
    settings.APPRISE_TIMEOUT = 2
    settings.NOTIFY_EMAIL_ENABLED = False  # only Apprise goes out in these tests
    server = FakeServer(default=fixture("apprise", "json_webhook_response.json")).start()
    yield server
    server.stop()


def add(user, url: str) -> AppriseTarget:
    return apprise.apprise_target_add(user=user, url=url)


def send(user, django_capture_on_commit_callbacks, key: str = "reminder:1") -> None:
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(
            recipient=user, kind=Kind.REMINDER, title="Rex: pill time",
            body="Give Rex his pill.", link="/reminders/1/", event_key=key,
        )  # fmt: skip


def retry_now(message: OutboxMessage) -> str | None:
    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    return outbox_deliver(message_id=message.pk)


def test_a_notification_reaches_the_json_target_with_title_body_and_link(
    cast: Cast, hook: FakeServer, django_capture_on_commit_callbacks
) -> None:
    add(cast.alice, f"json://127.0.0.1:{hook.port}/pawfile")
    send(cast.alice, django_capture_on_commit_callbacks)

    (seen,) = hook.requests
    assert seen.method == "POST" and seen.path.startswith("/pawfile")
    payload = seen.json()
    assert payload["title"] == "Rex: pill time"
    assert "Give Rex his pill." in payload["message"]
    assert "/reminders/1/" in payload["message"]  # the link, absolute
    assert Delivery.objects.get(channel="apprise").status == DeliveryStatus.SENT
    assert OutboxMessage.objects.get(kind="notify.apprise").status == MessageStatus.SENT


def test_the_ntfy_target_publishes_to_the_topic(
    cast: Cast, hook: FakeServer, django_capture_on_commit_callbacks
) -> None:
    hook.default = fixture("apprise", "ntfy_publish_response.json")
    add(cast.alice, f"ntfy://127.0.0.1:{hook.port}/pawfile-alice")
    send(cast.alice, django_capture_on_commit_callbacks)
    (seen,) = hook.requests
    published = seen.json()
    assert published["topic"] == "pawfile-alice"
    assert published["title"] == "Rex: pill time"
    assert "Give Rex his pill." in published["message"]


def test_a_500_is_retried_not_blocked_and_the_retry_delivers(
    cast: Cast, hook: FakeServer, django_capture_on_commit_callbacks
) -> None:
    add(cast.alice, f"json://127.0.0.1:{hook.port}/hook")
    hook.queue(Answer(500, {"error": "down"}))
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.apprise")
    assert message.status == MessageStatus.PENDING
    assert [a.outcome for a in message.attempt_log.all()] == ["retry"]
    assert not ChannelBlock.objects.exists()

    assert retry_now(message) == MessageStatus.SENT
    assert len(hook.requests) == 2
    assert Delivery.objects.get(channel="apprise").status == DeliveryStatus.SENT


def test_a_target_that_does_not_answer_in_time_is_retried(
    cast: Cast, hook: FakeServer, settings, django_capture_on_commit_callbacks
) -> None:
    settings.APPRISE_TIMEOUT = 1
    add(cast.alice, f"json://127.0.0.1:{hook.port}/slow")
    hook.queue(Answer(200, {}, delay=4))
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.apprise")
    assert message.status == MessageStatus.PENDING
    assert not ChannelBlock.objects.exists()


def test_a_stored_url_apprise_no_longer_accepts_is_permanent(
    cast: Cast, hook: FakeServer, django_capture_on_commit_callbacks
) -> None:
    # Written before a plugin went away (or by hand): Apprise refuses it at send time.
    AppriseTarget.objects.create(user=cast.alice, url="gone://old-plugin/x", masked="gone://")
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.apprise")
    assert message.status == MessageStatus.FAILED
    assert "refused" in message.last_error
    assert ChannelBlock.objects.filter(user=cast.alice, channel="apprise").exists()
    assert Notification.objects.filter(recipient=cast.alice, kind=Kind.SYSTEM).exists()


def test_a_url_that_no_longer_decrypts_blocks_the_channel_and_says_so(
    cast: Cast, hook: FakeServer, settings, django_capture_on_commit_callbacks
) -> None:
    add(cast.alice, f"json://127.0.0.1:{hook.port}/hook")
    # The key that wrote it is gone (a new key only): the stored URL cannot be opened.
    settings.PAWFILE_FIELD_KEYS = ["bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0="]
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.apprise")
    assert message.status == MessageStatus.FAILED
    assert not hook.requests
    assert ChannelBlock.objects.filter(user=cast.alice, channel="apprise").exists()
    note = Notification.objects.get(recipient=cast.alice, kind=Kind.SYSTEM)
    assert "Apprise" in note.title
    # The page still lists it (masked, no decryption needed), so it can be deleted.
    page = cast.client_for("alice").get("/notifications/apprise/")
    assert page.status_code == 200 and f"127.0.0.1:{hook.port}".encode() in page.content


def test_a_private_address_is_refused_on_entry_and_when_sending(
    cast: Cast, hook: FakeServer, settings, django_capture_on_commit_callbacks
) -> None:
    settings.APPRISE_ALLOW_PRIVATE = False
    alice = cast.client_for("alice")
    for url in (
        f"json://127.0.0.1:{hook.port}/hook",
        "json://localhost/hook",
        "ntfy://10.1.2.3/topic",
        "json://[::1]:8080/x",
        "json://169.254.169.254/latest",
    ):
        response = alice.post("/notifications/apprise/", {"url": url})
        assert response.status_code == 400, url
        assert b"private network" in response.content
    assert not AppriseTarget.objects.exists()

    # Added while allowed, sent after the allowance is gone: refused, nothing reaches it.
    settings.APPRISE_ALLOW_PRIVATE = True
    add(cast.alice, f"json://127.0.0.1:{hook.port}/hook")
    settings.APPRISE_ALLOW_PRIVATE = False
    send(cast.alice, django_capture_on_commit_callbacks)
    assert not hook.requests
    assert OutboxMessage.objects.get(kind="notify.apprise").status == MessageStatus.FAILED


def test_the_connection_guard_refuses_private_addresses_apprise_would_reach(
    cast: Cast, hook: FakeServer, settings
) -> None:
    """Past the entry check (a name that resolves inside the network later, a redirect):
    the guard on Apprise's own connections refuses."""
    import requests

    settings.APPRISE_ALLOW_PRIVATE = False
    with apprise.private_guard(), pytest.raises(requests.ConnectionError):
        requests.post(f"{hook.base}/x", json={}, timeout=2)
    assert not hook.requests
    requests.post(f"{hook.base}/y", json={}, timeout=2)  # outside the guard: untouched
    assert len(hook.requests) == 1


def test_entry_checks_the_url_with_apprise_stores_it_encrypted_and_shows_it_masked(
    cast: Cast, hook: FakeServer
) -> None:
    alice = cast.client_for("alice")
    bad = alice.post("/notifications/apprise/", {"url": "bogus://nothing"})
    assert bad.status_code == 400 and b"does not recognise" in bad.content
    empty = alice.post("/notifications/apprise/", {"url": ""})
    assert empty.status_code == 400

    secret_url = f"json://user:s3cr3t-pass@127.0.0.1:{hook.port}/private-path?token=abc"
    added = alice.post("/notifications/apprise/", {"url": secret_url, "label": "My phone"})
    assert added.status_code == 302
    target = AppriseTarget.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT url FROM notifications_apprisetarget")
        (raw,) = cursor.fetchone()
    assert "s3cr3t" not in raw and "127.0.0.1" not in raw  # encrypted at rest
    assert target.url == secret_url
    assert target.masked == f"json://127.0.0.1:{hook.port}"
    page = alice.get("/notifications/apprise/").content
    assert b"My phone" in page and f"json://127.0.0.1:{hook.port}".encode() in page
    assert b"s3cr3t" not in page and b"private-path" not in page

    telegram = apprise.apprise_target_add(
        user=cast.alice, url="tgram://123456789:ABCdefGHIjklMNOpqrSTUvwxYZ/12345"
    )
    assert "ABCdef" not in telegram.masked and telegram.masked.startswith("tgram://")


def test_send_test_reports_what_happened(cast: Cast, hook: FakeServer) -> None:
    target = add(cast.alice, f"json://127.0.0.1:{hook.port}/hook")
    alice = cast.client_for("alice")
    ok = alice.post(f"/notifications/apprise/{target.pk}/test", follow=True)
    assert b"Test sent" in ok.content
    assert hook.requests[0].json()["title"].startswith("Test from")
    hook.queue(Answer(500, {}))
    failed = alice.post(f"/notifications/apprise/{target.pk}/test", follow=True)
    assert b"did not take the test message" in failed.content
    assert alice.get(f"/notifications/apprise/{target.pk}/test").status_code == 405


def test_adding_a_target_turns_a_blocked_channel_on_again(cast: Cast, hook: FakeServer) -> None:
    ChannelBlock.objects.create(user=cast.alice, channel="apprise", reason="bad")
    add(cast.alice, f"json://127.0.0.1:{hook.port}/hook")
    assert not ChannelBlock.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 302), ("bob", 404), ("carol", 404), ("charlie", 404), (None, 302)],
)
def test_targets_are_per_person(cast: Cast, hook: FakeServer, who, status) -> None:
    target = add(cast.alice, f"json://127.0.0.1:{hook.port}/hook")
    client = cast.client_for(who)
    for action in ("test", "delete"):
        response = client.post(f"/notifications/apprise/{target.pk}/{action}")
        if who is None:
            assert response.status_code == 302 and "/login" in response["Location"]
        elif who != "alice":
            assert response.status_code == status
    page = client.get("/notifications/apprise/")
    if who not in (None, "alice"):
        assert page.status_code == 200
        assert f"127.0.0.1:{hook.port}".encode() not in page.content
    assert AppriseTarget.objects.filter(pk=target.pk).exists() == (who != "alice")


def test_export_shows_targets_masked_and_deletion_clears_them(cast: Cast, hook: FakeServer) -> None:
    from pawfile.lib import registry

    add(cast.alice, f"json://user:s3cr3t@127.0.0.1:{hook.port}/hook")
    rows, _files = registry.export_sections(user=cast.alice)
    (exported,) = rows["apprise_targets"]
    assert exported["masked"] == f"json://127.0.0.1:{hook.port}"
    assert "s3cr3t" not in repr(rows["apprise_targets"]) and "url" not in exported
    apprise.account_clear(cast.alice)
    assert not AppriseTarget.objects.exists()


def test_without_apprise_enabled_nothing_is_offered(cast: Cast, settings) -> None:
    settings.APPRISE_ENABLED = False
    alice = cast.client_for("alice")
    assert b"not available" in alice.get("/notifications/apprise/").content
    assert alice.post("/notifications/apprise/", {"url": "ntfy://ntfy.sh/x"}).status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", None), ("bob", 404), ("carol", 404), ("charlie", 404), (None, 401)],
)
def test_the_api_of_targets_per_person(cast: Cast, hook: FakeServer, who, status) -> None:
    alice = cast.client_for("alice")
    created = alice.post(
        "/api/v1/apprise-targets",
        {"url": f"json://user:s3cr3t@127.0.0.1:{hook.port}/hook", "label": "Phone"},
        content_type="application/json",
    )
    assert created.status_code == 201
    target = created.json()
    assert target["masked"] == f"json://127.0.0.1:{hook.port}" and "url" not in target
    bad = alice.post(
        "/api/v1/apprise-targets", {"url": "bogus://x"}, content_type="application/json"
    )
    assert bad.status_code == 422 and "does not recognise" in bad.json()["error"]["message"]

    client = cast.client_for(who)
    listed = client.get("/api/v1/apprise-targets")
    tested = client.post(f"/api/v1/apprise-targets/{target['id']}/test")
    deleted = client.delete(f"/api/v1/apprise-targets/{target['id']}")
    if who == "alice":
        assert [t["id"] for t in listed.json()] == [target["id"]]
        assert tested.json() == {"sent": True, "permanent": False}
        assert hook.requests[0].json()["title"].startswith("Test from")
        assert deleted.status_code == 204 and not AppriseTarget.objects.exists()
    else:
        assert listed.status_code == (401 if who is None else 200)
        if who is not None:
            assert listed.json() == []
        assert tested.status_code == status and deleted.status_code == status
        assert not hook.requests and AppriseTarget.objects.count() == 1
