"""Provider answers that mean "later", for every HTTP channel, against the local fakes:

* 429 with ``Retry-After`` (seconds or an HTTP date): the next attempt of that delivery is
  not before the provider asked (and the outbox will not even claim it earlier), at most
  ``BACKOFF_CAP`` away; Apprise gives us no headers, so its 429 waits for our backoff;
* a timeout: retried with backoff (web push and FCM here; WhatsApp, SMS and Apprise in
  their own files);
* "success after our timeout": the web push retry carries the same ``Topic``, so a push
  service still holding the first push for an offline browser keeps one; FCM's retry carries
  the same collapse keys but sends again (the documented window, like WhatsApp and SMS).
"""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime
from typing import Any

import pytest
from django.utils import timezone

from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import Delivery
from pawfile.notifications.services import notification_send
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.models import OutboxMessage
from pawfile.outbox.services import BACKOFF_CAP, outbox_claim, outbox_deliver
from tests.conftest import Cast
from tests.notifications.fakeservers import Answer as HookAnswer
from tests.notifications.fakeservers import FakeServer
from tests.notifications.phonefakes import verified_phone
from tests.notifications.pushfakes import (
    Answer,
    BrowserKeys,
    FakeFcm,
    FakePushService,
    fcm_error,
    fixture,
    webpush_error,
)

# The channels' fixtures (asked for by name, as ``request.getfixturevalue``) and helpers.
from tests.notifications.test_apprise import hook  # noqa: F401
from tests.notifications.test_fcm import fcm, register  # noqa: F401
from tests.notifications.test_webpush import push, subscribe  # noqa: F401

pytestmark = pytest.mark.django_db

PHONE = "+34600111222"
HTTP_CHANNELS = ["webpush", "mobile", "whatsapp", "sms"]


def _send(user: Any, capture: Any) -> OutboxMessage:
    with capture(execute=True):
        notification_send(
            recipient=user, kind=Kind.REMINDER, title="Rex: pill time",
            body="Give Rex his pill.", link="/pets/", event_key="reminder:7",
        )  # fmt: skip
    return OutboxMessage.objects.exclude(kind="notify.email").get(kind__startswith="notify.")


def _refuse_once(channel: str, cast: Cast, request: Any, headers: dict[str, str]) -> Any:
    """Make ``channel`` reach alice and its fake answer 429 with ``headers`` once, then
    take the message. Returns the fake."""
    if channel == "webpush":
        fake = request.getfixturevalue("push")
        subscribe(cast.client_for("alice"), BrowserKeys(), fake.endpoint("busy"))
        fake.script["busy"] = [
            webpush_error("too_many_429.json", 429, **headers),
            Answer(201, headers={"Location": fake.base + "/message/ok"}),
        ]
    elif channel == "mobile":
        fake = request.getfixturevalue("fcm")
        register("alice@example.org", "busy-token")
        ok = Answer(200, fixture("fcm", "send_ok.json"), {"Content-Type": "application/json"})
        fake.script["busy-token"] = [fcm_error("quota_exceeded.json", 429, **headers), ok]
    elif channel == "whatsapp":
        fake = request.getfixturevalue("graph")
        verified_phone(cast.alice, "whatsapp", PHONE, last_inbound_at=timezone.now())
        fake.script(429, "error_130429.json", headers=headers)
    else:
        fake = request.getfixturevalue("twilio")
        verified_phone(cast.alice, "sms", PHONE)
        fake.script(429, "error_20429.json", headers=headers)
    return fake


def _wait_asked(message: OutboxMessage) -> float:
    """Seconds between the failed attempt and the next one the outbox scheduled."""
    message.refresh_from_db()
    attempt = message.attempt_log.get()
    assert message.status == MessageStatus.PENDING and attempt.outcome == "retry"
    return (message.next_attempt_at - attempt.created_at).total_seconds()


@pytest.mark.parametrize("form", ["seconds", "http-date"])
@pytest.mark.parametrize("channel", HTTP_CHANNELS)
def test_429_with_retry_after_is_not_tried_again_before_the_provider_asked(
    cast: Cast, request: Any, settings: Any, django_capture_on_commit_callbacks: Any,
    channel: str, form: str,
) -> None:  # fmt: skip
    settings.NOTIFY_EMAIL_ENABLED = False
    settings.PAWFILE_OUTBOX_BACKOFF = 30
    asked = 600  # far above the first backoff (15 to 30 s)
    value = (
        str(asked)
        if form == "seconds"
        else format_datetime(timezone.now() + dt.timedelta(seconds=asked + 1), usegmt=True)
    )
    _refuse_once(channel, cast, request, {"Retry-After": value})
    message = _send(cast.alice, django_capture_on_commit_callbacks)
    assert message.kind == f"notify.{channel}"
    wait = _wait_asked(message)
    assert asked - 1 <= wait <= asked * 1.1 + 2  # what it asked, and at most a tenth more
    failed_at = message.attempt_log.get().created_at
    early = failed_at + dt.timedelta(seconds=asked - 2)
    assert outbox_claim(message_id=message.pk, now=early) is None  # not before it
    assert Delivery.objects.get(channel=channel).status == DeliveryStatus.QUEUED

    # Its time come (moved to now rather than waiting ten minutes), it goes.
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox_deliver(message_id=message.pk) == MessageStatus.SENT
    assert Delivery.objects.get(channel=channel).status == DeliveryStatus.SENT


@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
def test_a_retry_after_of_a_day_is_capped(
    cast: Cast, request: Any, settings: Any, django_capture_on_commit_callbacks: Any,
    channel: str,
) -> None:  # fmt: skip
    settings.NOTIFY_EMAIL_ENABLED = False
    _refuse_once(channel, cast, request, {"Retry-After": "86400"})
    message = _send(cast.alice, django_capture_on_commit_callbacks)
    assert _wait_asked(message) == pytest.approx(BACKOFF_CAP.total_seconds(), abs=1)


@pytest.mark.parametrize("channel", HTTP_CHANNELS)
def test_a_500_without_retry_after_waits_for_the_backoff(
    cast: Cast, request: Any, settings: Any, django_capture_on_commit_callbacks: Any,
    channel: str,
) -> None:  # fmt: skip
    settings.NOTIFY_EMAIL_ENABLED = False
    settings.PAWFILE_OUTBOX_BACKOFF = 30
    fake = _refuse_once(channel, cast, request, {})
    if channel in ("whatsapp", "sms"):
        fake.answers.clear()
        fake.script(500)
    elif channel == "webpush":
        fake.script["busy"][0] = Answer(500, b"internal error")
    else:
        fake.script["busy-token"][0] = fcm_error("internal.json", 500)
    message = _send(cast.alice, django_capture_on_commit_callbacks)
    assert 15 <= _wait_asked(message) <= 30  # the first backoff, with its jitter


def test_apprise_gives_no_headers_so_its_429_waits_for_our_backoff(
    cast: Cast, request: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Apprise's ``notify()`` answers only true or false: a target's ``Retry-After`` never
    reaches us, and the retry comes after our own backoff."""
    from pawfile.notifications.channels import apprise

    target: FakeServer = request.getfixturevalue("hook")

    settings.PAWFILE_OUTBOX_BACKOFF = 30
    apprise.apprise_target_add(user=cast.alice, url=f"json://127.0.0.1:{target.port}/hook")
    target.queue(HookAnswer(429, {"error": "slow down"}))
    message = _send(cast.alice, django_capture_on_commit_callbacks)
    assert message.kind == "notify.apprise"
    assert 15 <= _wait_asked(message) <= 30


# --- Timeouts and "success after our timeout" on the push channels ---------------------------


def test_a_web_push_timeout_is_retried_and_the_topic_keeps_one_push_held(
    cast: Cast, request: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The push service takes the push but answers after our timeout; the retry pushes
    again with the same ``Topic``, so for a browser that was offline the service holds one."""
    service: FakePushService = request.getfixturevalue("push")
    settings.PUSH_TIMEOUT = 0.5
    subscribe(cast.client_for("alice"), BrowserKeys(), service.endpoint("slow"))
    service.script["slow"] = [
        Answer(201, headers={"Location": service.base + "/message/1"}, delay=1.5),
        Answer(201, headers={"Location": service.base + "/message/2"}),
    ]
    message = _send(cast.alice, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING and "timed out" in message.last_error
    assert Delivery.objects.get(channel="webpush").status == DeliveryStatus.QUEUED

    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox_deliver(message_id=message.pk) == MessageStatus.SENT
    assert len(service.for_("slow")) == 2  # the service took both requests
    assert len(service.held("slow")) == 1  # ...and keeps one for the offline browser
    assert Delivery.objects.get(channel="webpush").status == DeliveryStatus.SENT


def test_an_fcm_timeout_is_retried_and_sends_again_with_the_same_collapse_keys(
    cast: Cast, request: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """FCM HTTP v1 takes no idempotency key: a message it took after our timeout is sent
    again (the documented window); both carry the outbox message's collapse keys."""
    google: FakeFcm = request.getfixturevalue("fcm")
    settings.PUSH_TIMEOUT = 1.0
    register("alice@example.org", "slow-token")
    ok = fixture("fcm", "send_ok.json")
    google.script["slow-token"] = [
        Answer(200, ok, {"Content-Type": "application/json"}, delay=2.5),
        Answer(200, ok, {"Content-Type": "application/json"}),
    ]
    message = _send(cast.alice, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING and "timed out" in message.last_error.lower()

    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox_deliver(message_id=message.pk) == MessageStatus.SENT
    assert len(google.sent) == 2  # the duplicate window: one request timeout
    assert len({m["android"]["collapse_key"] for m in google.sent}) == 1
    assert len({m["apns"]["headers"]["apns-collapse-id"] for m in google.sent}) == 1
