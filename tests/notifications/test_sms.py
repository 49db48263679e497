"""SMS through a local Twilio fake: the form-encoded request with HTTP Basic auth and the
status callback address; invalid numbers (21211, 21614) block the channel; 429 is retried
to one text; the monthly limit and the hourly rate limit; status callbacks signed with
``X-Twilio-Signature`` over the configured public URL (unsigned → 401, wrong → 403)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import ChannelBlock, Delivery, Notification, PhoneChannel
from pawfile.notifications.services import notification_send
from pawfile.notifications.webhooks import twilio_signature
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.models import OutboxMessage
from pawfile.outbox.services import outbox_deliver
from tests.conftest import Cast
from tests.notifications.phonefakes import (
    TWILIO_SID,
    TWILIO_TOKEN,
    TwilioFake,
    fixture_text,
    twilio_tampered,
    verified_phone,
)

pytestmark = pytest.mark.django_db

ALICE = "+14155552671"
HOOK = "/hooks/twilio/status"


def send(user: Any, run: Any, key: str = "system:1") -> None:
    with run(execute=True):
        notification_send(
            recipient=user, kind=Kind.REMINDER, title="Rex: pill time",
            body="Give Rex his pill.", link="/pets/", event_key=key,
        )  # fmt: skip


def retry_now(message: OutboxMessage) -> str | None:
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    return outbox_deliver(message_id=message.pk)


def test_a_notification_is_one_text_with_basic_auth_and_a_status_callback(
    cast: Cast, twilio: TwilioFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "sms", ALICE)
    send(cast.alice, django_capture_on_commit_callbacks)
    [text] = twilio.texts()
    assert text["To"] == ALICE and text["From"] == "+15005550006"
    assert text["Body"].startswith("Pawfile: Rex: pill time - Give Rex his pill. http")
    assert text["StatusCallback"] == django_settings.PAWFILE_BASE_URL + HOOK
    request = twilio.taken[0]
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    delivery = Delivery.objects.get(channel="sms")
    assert delivery.status == DeliveryStatus.SENT and delivery.provider_id.startswith("SM")
    assert PhoneChannel.objects.get(user=cast.alice).month_count == 1


def test_a_messaging_service_replaces_the_from_number(
    cast: Cast, twilio: TwilioFake, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    verified_phone(cast.alice, "sms", ALICE)
    send(cast.alice, django_capture_on_commit_callbacks)
    [text] = twilio.texts()
    assert text["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in text


@pytest.mark.parametrize("fixture", ["error_21211.json", "error_21614.json"])
def test_an_invalid_number_blocks_the_channel(
    cast: Cast, twilio: TwilioFake, django_capture_on_commit_callbacks, fixture: str
) -> None:
    verified_phone(cast.alice, "sms", ALICE)
    twilio.script(400, fixture)
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.sms")
    assert message.status == MessageStatus.FAILED
    assert Delivery.objects.get(channel="sms").status == DeliveryStatus.FAILED
    assert ChannelBlock.objects.filter(user=cast.alice, channel="sms").exists()
    notice = Notification.objects.get(event_key__startswith="channel-blocked:sms")
    assert notice.title == "SMS notifications are off"


def test_429_is_retried_to_one_text(
    cast: Cast, twilio: TwilioFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "sms", ALICE)
    twilio.script(429, "error_20429.json", headers={"Retry-After": "2"})
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.sms")
    assert message.status == MessageStatus.PENDING and "retry after 2 s" in message.last_error
    assert not ChannelBlock.objects.exists()
    assert retry_now(message) == MessageStatus.SENT
    assert len(twilio.texts()) == 1
    assert Delivery.objects.get(channel="sms").status == DeliveryStatus.SENT


def test_500_is_retried(cast: Cast, twilio: TwilioFake, django_capture_on_commit_callbacks) -> None:
    verified_phone(cast.alice, "sms", ALICE)
    twilio.script(500)
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.sms")
    assert message.status == MessageStatus.PENDING
    assert retry_now(message) == MessageStatus.SENT
    assert len(twilio.texts()) == 1


def test_the_monthly_limit_stops_texts_and_says_so_once(
    cast: Cast, twilio: TwilioFake, settings, django_capture_on_commit_callbacks
) -> None:
    settings.SMS_MONTHLY_LIMIT = 2
    row = verified_phone(cast.alice, "sms", ALICE)
    for n in range(4):
        send(cast.alice, django_capture_on_commit_callbacks, key=f"system:{n}")
    assert len(twilio.texts()) == 2
    over = Delivery.objects.filter(channel="sms", status=DeliveryStatus.FAILED)
    assert over.count() == 2 and all("monthly" in d.error for d in over)
    notes = Notification.objects.filter(event_key__startswith="sms-limit:")
    assert notes.count() == 1 and "2 text messages" in notes.get().body
    assert not ChannelBlock.objects.exists()
    # A new month starts again from zero.
    last_month = (timezone.now().replace(day=1) - dt.timedelta(days=1)).date().replace(day=1)
    PhoneChannel.objects.filter(pk=row.pk).update(month=last_month)
    send(cast.alice, django_capture_on_commit_callbacks, key="system:next")
    assert len(twilio.texts()) == 3
    row.refresh_from_db()
    assert row.month_count == 1


def test_the_hourly_rate_limit_makes_texts_wait(
    cast: Cast, twilio: TwilioFake, settings, django_capture_on_commit_callbacks
) -> None:
    settings.SMS_RATELIMIT = "1/3600"
    verified_phone(cast.alice, "sms", ALICE)
    send(cast.alice, django_capture_on_commit_callbacks, key="system:1")
    send(cast.alice, django_capture_on_commit_callbacks, key="system:2")
    assert len(twilio.texts()) == 1
    waiting = OutboxMessage.objects.get(kind="notify.sms", status=MessageStatus.PENDING)
    assert "rate limit" in waiting.last_error


def test_no_verified_opted_in_number_no_text(
    cast: Cast, twilio: TwilioFake, django_capture_on_commit_callbacks
) -> None:
    PhoneChannel.objects.create(user=cast.alice, channel="sms", phone=ALICE)
    send(cast.alice, django_capture_on_commit_callbacks)
    assert not twilio.requests and not Delivery.objects.filter(channel="sms").exists()


# --- Status callbacks --------------------------------------------------------------------------


def _callback(fixture: str, sid: str) -> dict[str, str]:
    text = fixture_text("twilio", fixture, sid=sid, account_sid=TWILIO_SID).strip()
    from urllib.parse import parse_qsl

    return dict(parse_qsl(text))


def _post(params: dict[str, str], signature: str | None) -> Any:
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature is not None else {}
    return Client(enforce_csrf_checks=True).post(
        HOOK, data=urlencode(params), content_type="application/x-www-form-urlencoded",
        **headers,
    )  # fmt: skip


def _sent(cast: Cast, run: Any) -> Delivery:
    verified_phone(cast.alice, "sms", ALICE)
    send(cast.alice, run)
    return Delivery.objects.get(channel="sms")


def test_a_signed_delivered_callback_updates_the_delivery(
    cast: Cast, twilio: TwilioFake, django_capture_on_commit_callbacks
) -> None:
    delivery = _sent(cast, django_capture_on_commit_callbacks)
    params = _callback("status_callback_delivered.txt", delivery.provider_id)
    url = django_settings.PAWFILE_BASE_URL + HOOK
    response = _post(params, twilio_signature(url, {k: [v] for k, v in params.items()},
                                              TWILIO_TOKEN))  # fmt: skip
    assert response.status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_an_undelivered_30005_callback_fails_and_blocks(
    cast: Cast, twilio: TwilioFake, django_capture_on_commit_callbacks
) -> None:
    delivery = _sent(cast, django_capture_on_commit_callbacks)
    params = _callback("status_callback_undelivered_30005.txt", delivery.provider_id)
    url = django_settings.PAWFILE_BASE_URL + HOOK
    signature = twilio_signature(url, {k: [v] for k, v in params.items()}, TWILIO_TOKEN)
    assert _post(params, signature).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and "30005" in delivery.error
    assert ChannelBlock.objects.filter(user=cast.alice, channel="sms").exists()


@pytest.mark.parametrize("tamper", ["unsigned", "wrong token", "one byte changed", "request host"])
def test_a_bad_callback_signature_is_refused_with_no_effect(
    cast: Cast, twilio: TwilioFake, django_capture_on_commit_callbacks, tamper: str
) -> None:
    delivery = _sent(cast, django_capture_on_commit_callbacks)
    params = _callback("status_callback_undelivered_30005.txt", delivery.provider_id)
    url = django_settings.PAWFILE_BASE_URL + HOOK
    signature = twilio_tampered(url, params, tamper, change="ErrorCode")
    response = _post(params, signature)
    assert response.status_code == (401 if tamper == "unsigned" else 403)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert not ChannelBlock.objects.exists()


def test_the_callback_is_404_when_sms_is_off(settings) -> None:
    settings.SMS_ENABLED = False
    assert _post({"MessageSid": "SM1"}, "x").status_code == 404


def test_a_timeout_is_retried_and_success_after_it_sends_twice(
    cast: Cast, twilio: TwilioFake, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """Twilio takes no idempotency key for a send: a text it took after our request timed
    out is sent again by the retry (the documented duplicate window: one timeout)."""
    from pawfile.notifications.channels import sms

    monkeypatch.setattr(sms, "TIMEOUT", 0.5)
    verified_phone(cast.alice, "sms", ALICE)
    twilio.script(201, None, delay=1.5, then_ok=True)
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.sms")
    assert message.status == MessageStatus.PENDING and "timed out" in message.last_error
    twilio.wait_for(1)
    assert retry_now(message) == MessageStatus.SENT
    assert len(twilio.texts()) == 2
    assert Delivery.objects.get(channel="sms").status == DeliveryStatus.SENT
