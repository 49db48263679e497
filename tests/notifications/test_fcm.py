"""Mobile push through FCM HTTP v1 against a local fake of Google's token endpoint and of
``messages:send``: the service-account JWT assertion is checked with its public key, the
bearer token and the message body are checked, and FCM's answers (saved in
``tests/fixtures/fcm/``) do what they should: UNREGISTERED and a bad token remove the device,
429 and 500 are retried, 401 gets a new access token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.utils import timezone

from pawfile.notifications.channels import fcm as fcm_channel
from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import ChannelBlock, Delivery, Device
from pawfile.notifications.services import notification_send
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.models import OutboxMessage
from pawfile.outbox.services import outbox_deliver
from tests.conftest import PASSWORD, Cast
from tests.notifications.pushfakes import Answer, FakeFcm, fcm_error, fixture

pytestmark = pytest.mark.django_db

LOGIN = "/_allauth/app/v1/auth/login"


@pytest.fixture
def fcm(settings: Any, tmp_path: Any) -> Iterator[FakeFcm]:
    settings.NOTIFY_EMAIL_ENABLED = False
    settings.WEBPUSH_ENABLED = False
    settings.PAWFILE_BASE_URL = "https://pawfile.example"
    settings.PUSH_ALLOW_PRIVATE_ADDRESSES = True  # the fake listens on 127.0.0.1
    fcm_channel.credentials_forget()
    with FakeFcm() as fake:
        settings.FCM_ENABLED = True
        settings.FCM_SERVICE_ACCOUNT_FILE = str(fake.service_account(tmp_path))  # type: ignore[attr-defined]
        settings.FCM_PROJECT_ID = ""  # from the file
        settings.FCM_ENDPOINT = fake.base
        yield fake  # type: ignore[misc]
    fcm_channel.credentials_forget()


def bearer(email: str) -> dict[str, str]:
    response = Client().post(
        LOGIN, {"email": email, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return {"Authorization": f"Bearer {response.json()['meta']['access_token']}"}


def register(user_email: str, token: str, platform: str = "android") -> Any:
    return Client().post(
        "/api/v1/devices",
        json.dumps({"platform": platform, "token": token, "label": "Pixel 8"}),
        content_type="application/json",
        headers=bearer(user_email),
    )


def send(user: Any, key: str, capture: Any) -> None:
    with capture(execute=True):
        notification_send(
            recipient=user, kind=Kind.REMINDER, title="Rex: pill time",
            body="Give Rex his pill.", link="/pets/", event_key=key,
        )  # fmt: skip


def retry_now() -> list[str | None]:
    pending = OutboxMessage.objects.filter(status=MessageStatus.PENDING)
    pending.update(next_attempt_at=timezone.now())
    return [outbox_deliver(message_id=pk) for pk in pending.values_list("pk", flat=True)]


def test_a_notification_reaches_the_phone_through_fcm_v1(
    cast: Cast, fcm: FakeFcm, django_capture_on_commit_callbacks: Any
) -> None:
    assert register("alice@example.org", "fcm-token-alice-1").status_code == 201

    send(cast.alice, "reminder:1", django_capture_on_commit_callbacks)
    send(cast.alice, "reminder:2", django_capture_on_commit_callbacks)

    assert fcm.refusals == []  # assertion signature, bearer and body all checked
    assert fcm.token_requests == 1  # the access token is kept until it expires
    first = fcm.sent[0]
    assert first["token"] == "fcm-token-alice-1"
    assert first["notification"] == {"title": "Rex: pill time", "body": "Give Rex his pill."}
    assert first["data"] == {"url": "https://pawfile.example/pets/", "kind": "reminder"}
    deliveries = Delivery.objects.filter(channel="mobile")
    assert {d.status for d in deliveries} == {DeliveryStatus.SENT}
    assert {d.provider_id for d in deliveries} == {
        json.loads(fixture("fcm", "send_ok.json"))["name"]
    }
    assert Device.objects.get().last_ok_at is not None


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(("unregistered.json", 404), id="404-UNREGISTERED"),
        pytest.param(("invalid_token.json", 400), id="400-INVALID_ARGUMENT-token"),
    ],
)
def test_an_invalid_token_removes_the_device_and_with_none_left_blocks_the_channel(
    cast: Cast, fcm: FakeFcm, django_capture_on_commit_callbacks: Any, answer: tuple[str, int]
) -> None:
    register("alice@example.org", "dead-token")
    register("alice@example.org", "live-token", platform="ios")
    fcm.script["dead-token"] = [fcm_error(*answer)]

    send(cast.alice, "reminder:1", django_capture_on_commit_callbacks)
    assert [d.token for d in Device.objects.all()] == ["live-token"]
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    assert not ChannelBlock.objects.exists()

    fcm.script["live-token"] = [fcm_error(*answer)]
    send(cast.alice, "reminder:2", django_capture_on_commit_callbacks)
    assert not Device.objects.exists()
    assert ChannelBlock.objects.filter(user=cast.alice, channel="mobile").exists()
    last = Delivery.objects.get(notification__event_key="reminder:2")
    assert last.status == DeliveryStatus.FAILED
    assert "UNREGISTERED" in last.error or "INVALID_ARGUMENT" in last.error


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(fcm_error("quota_exceeded.json", 429, **{"Retry-After": "120"}), id="429"),
        pytest.param(fcm_error("internal.json", 500), id="500"),
    ],
)
def test_quota_and_server_errors_are_retried_later_and_sent_once(
    cast: Cast, fcm: FakeFcm, django_capture_on_commit_callbacks: Any, refusal: Answer
) -> None:
    register("alice@example.org", "busy-token")
    ok = Answer(200, fixture("fcm", "send_ok.json"), {"Content-Type": "application/json"})
    fcm.script["busy-token"] = [refusal, ok]

    send(cast.alice, "reminder:1", django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.mobile")
    assert message.status == MessageStatus.PENDING
    assert message.next_attempt_at > timezone.now()  # backoff
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.QUEUED and str(refusal.status) in delivery.error
    if refusal.status == 429:
        assert "retry after 120 s" in delivery.error
    assert Device.objects.exists()

    assert retry_now() == [MessageStatus.SENT]
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    assert len(fcm.sent) == 2 and retry_now() == []  # one refused, one taken: no third
    # The same collapse key both times: FCM replaces one still waiting for the phone.
    assert len({m["android"]["collapse_key"] for m in fcm.sent}) == 1
    assert (
        fcm.sent[0]["apns"]["headers"]["apns-collapse-id"] == fcm.sent[0]["android"]["collapse_key"]
    )


def test_an_expired_access_token_is_replaced(
    cast: Cast, fcm: FakeFcm, django_capture_on_commit_callbacks: Any
) -> None:
    register("alice@example.org", "token-1")
    send(cast.alice, "reminder:1", django_capture_on_commit_callbacks)
    fcm.issued.clear()  # Google no longer accepts the token we hold

    send(cast.alice, "reminder:2", django_capture_on_commit_callbacks)
    assert OutboxMessage.objects.filter(status=MessageStatus.PENDING).count() == 1
    assert retry_now() == [MessageStatus.SENT]
    assert fcm.token_requests == 2


def test_a_service_account_google_does_not_know_gets_no_token_and_nothing_is_sent(
    cast: Cast, fcm: FakeFcm, settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    register("alice@example.org", "token-1")
    forged = json.loads((tmp_path / "service-account.json").read_text())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged["private_key"] = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path / "other.json"
    path.write_text(json.dumps(forged))
    settings.FCM_SERVICE_ACCOUNT_FILE = str(path)

    send(cast.alice, "reminder:1", django_capture_on_commit_callbacks)
    assert fcm.sent == [] and fcm.refusals and "bad assertion" in fcm.refusals[0]
    assert OutboxMessage.objects.get().status == MessageStatus.PENDING
    assert Device.objects.exists()  # our configuration, not the phone's fault
