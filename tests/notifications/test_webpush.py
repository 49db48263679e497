"""Web push end to end against a local push service: the browser subscribes through the
settings page's endpoint, a notification goes through the outbox, the fake receives it, and
the test decrypts the payload with the browser's private key (real aes128gcm) and verifies
the VAPID signature. Gone subscriptions (404/410) are removed; the channel is blocked only
when none is left; 429/5xx are retried without pushing twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from django.utils import timezone

from pawfile.notifications import vapid
from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import ChannelBlock, Delivery, Device, Notification
from pawfile.notifications.services import notification_send
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.models import OutboxMessage
from pawfile.outbox.services import outbox_deliver
from tests.conftest import Cast
from tests.notifications.pushfakes import (
    Answer,
    BrowserKeys,
    FakePushService,
    vapid_claims,
    webpush_error,
)

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/notifications/push/subscribe"
UNSUBSCRIBE = "/notifications/push/unsubscribe"


@pytest.fixture
def push(settings: Any) -> Iterator[FakePushService]:
    settings.WEBPUSH_ENABLED = True
    settings.NOTIFY_EMAIL_ENABLED = False
    settings.PUSH_ALLOW_PRIVATE_ADDRESSES = True  # the fake listens on 127.0.0.1
    settings.PAWFILE_BASE_URL = "https://pawfile.example"
    with FakePushService() as service:
        yield service  # type: ignore[misc]


def subscribe(client: Client, keys: BrowserKeys, endpoint: str) -> Any:
    return client.post(
        SUBSCRIBE, json.dumps(keys.subscription(endpoint)), content_type="application/json",
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"},
    )  # fmt: skip


def send(user: Any, key: str, capture: Any, **extra: Any) -> None:
    with capture(execute=True):
        notification_send(
            recipient=user, kind=extra.pop("kind", Kind.REMINDER), title="Rex: pill time",
            body="Give Rex his pill.", link="/pets/", event_key=key, **extra,
        )  # fmt: skip


def retry_now() -> list[str | None]:
    """Run every pending outbox message again now (what the sweep does when it is due)."""
    pending = OutboxMessage.objects.filter(status=MessageStatus.PENDING)
    pending.update(next_attempt_at=timezone.now())
    return [outbox_deliver(message_id=pk) for pk in pending.values_list("pk", flat=True)]


def test_the_push_decrypts_to_title_body_url_and_carries_a_valid_vapid_signature(
    cast: Cast, push: FakePushService, django_capture_on_commit_callbacks: Any
) -> None:
    keys = BrowserKeys()
    client = cast.client_for("alice")
    answer = subscribe(client, keys, push.endpoint("alice-chrome"))
    assert answer.status_code == 201, answer.content
    device = Device.objects.get(user=cast.alice)
    assert device.label == "Chrome on Linux" and device.is_webpush
    assert device.session_hash  # signing out of this session removes it

    before = int(time.time())
    send(cast.alice, "reminder:1", django_capture_on_commit_callbacks)

    (request,) = push.for_("alice-chrome")
    assert request.headers["content-encoding"] == "aes128gcm"
    assert int(request.headers["ttl"]) > 0
    assert request.headers["urgency"] == "high"  # reminders wake the phone
    assert keys.decrypt(request.body) == {
        "title": "Rex: pill time",
        "body": "Give Rex his pill.",
        "url": "https://pawfile.example/pets/",
    }
    claims, public = vapid_claims(request.headers["authorization"])
    assert public == vapid.public_key()  # the key the page gave the browser
    assert claims["aud"] == push.base
    assert before < claims["exp"] <= before + 24 * 3600 + 5
    assert claims["sub"].startswith("mailto:")
    # Someone else's keys cannot read it.
    with pytest.raises(Exception):  # noqa: B017 - http_ece raises a bare ECEException
        BrowserKeys(secret=keys.secret).decrypt(request.body)

    delivery = Delivery.objects.get(channel="webpush")
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_id.startswith(push.base + "/message/")
    device.refresh_from_db()
    assert device.last_ok_at is not None
    assert [a.outcome for a in OutboxMessage.objects.get().attempt_log.all()] == ["sent"]


def test_a_gone_subscription_is_removed_and_the_others_still_get_it(
    cast: Cast, push: FakePushService, django_capture_on_commit_callbacks: Any
) -> None:
    laptop, phone = BrowserKeys(), BrowserKeys()
    client = cast.client_for("alice")
    subscribe(client, laptop, push.endpoint("laptop"))
    subscribe(client, phone, push.endpoint("phone"))
    push.script["laptop"] = [webpush_error("gone_410.json", 410)]

    send(cast.alice, "reminder:1", django_capture_on_commit_callbacks)

    assert [d.token for d in Device.objects.all()] == [push.endpoint("phone")]
    assert phone.decrypt(push.for_("phone")[0].body)["title"] == "Rex: pill time"
    assert Delivery.objects.get(channel="webpush").status == DeliveryStatus.SENT
    assert not ChannelBlock.objects.exists()


@pytest.mark.parametrize("status, saved", [(404, "not_found_404.json"), (410, "gone_410.json")])
def test_the_last_subscription_gone_blocks_web_push_and_says_so(
    cast: Cast,
    push: FakePushService,
    django_capture_on_commit_callbacks: Any,
    status: int,
    saved: str,
) -> None:
    keys = BrowserKeys()
    client = cast.client_for("alice")
    subscribe(client, keys, push.endpoint("only"))
    push.script["only"] = [webpush_error(saved, status)]

    send(cast.alice, "reminder:1", django_capture_on_commit_callbacks)

    assert not Device.objects.exists()
    assert Delivery.objects.get(channel="webpush").status == DeliveryStatus.FAILED
    assert OutboxMessage.objects.get(kind="notify.webpush").status == MessageStatus.FAILED
    assert ChannelBlock.objects.filter(user=cast.alice, channel="webpush").exists()
    notice = Notification.objects.get(kind=Kind.SYSTEM)
    assert "Browser push" in notice.title

    # Subscribing again (the person turned it on again in this browser) lifts the block.
    push.script.clear()
    assert subscribe(client, keys, push.endpoint("again")).status_code == 201
    assert not ChannelBlock.objects.exists()
    send(cast.alice, "reminder:2", django_capture_on_commit_callbacks)
    assert len(push.for_("again")) == 1


@pytest.mark.parametrize("refusal", ["too_many_429.json", "500"])
def test_a_busy_or_failing_push_service_is_retried_and_pushes_once(
    cast: Cast, push: FakePushService, django_capture_on_commit_callbacks: Any, refusal: str
) -> None:
    keys = BrowserKeys()
    subscribe(cast.client_for("alice"), keys, push.endpoint("busy"))
    error = (
        webpush_error(refusal, 429, **{"Retry-After": "60"})
        if refusal.endswith(".json")
        else Answer(500, b"internal error")
    )
    push.script["busy"] = [error, Answer(201, headers={"Location": push.base + "/message/ok"})]

    send(cast.alice, "reminder:1", django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.webpush")
    assert message.status == MessageStatus.PENDING  # retried later, with backoff
    assert Device.objects.filter(token=push.endpoint("busy")).exists()
    delivery = Delivery.objects.get(channel="webpush")
    assert delivery.status == DeliveryStatus.QUEUED and "said" in delivery.error

    assert retry_now() == [MessageStatus.SENT]
    delivered = push.for_("busy")
    assert len(delivered) == 2  # the refused attempt and the one that went through
    # Both carry one Topic: a push service still holding the first replaces it.
    topics = {r.headers["topic"] for r in delivered}
    assert len(topics) == 1 and len(topics.pop()) <= 32
    assert keys.decrypt(delivered[-1].body)["title"] == "Rex: pill time"
    assert Delivery.objects.get(channel="webpush").provider_id == push.base + "/message/ok"
    assert retry_now() == []  # nothing is pushed twice


def test_held_pushes_are_merged_into_one(
    cast: Cast, push: FakePushService, django_capture_on_commit_callbacks: Any
) -> None:
    from pawfile.notifications import services

    keys = BrowserKeys()
    subscribe(cast.client_for("alice"), keys, push.endpoint("digest"))
    services.preferences_update(
        user=cast.alice, off=set(), quiet_start=None, quiet_end=None, digest=True
    )
    for number in (1, 2):
        send(cast.alice, f"reminder:{number}", django_capture_on_commit_callbacks)
    assert push.received == []
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_release(now=timezone.now() + dt.timedelta(days=2))
    (request,) = push.for_("digest")
    content = keys.decrypt(request.body)
    assert content["title"] == "2 notifications"
    assert content["url"] == "https://pawfile.example/notifications/"


def test_unsubscribe_forgets_the_browser(cast: Cast, push: FakePushService) -> None:
    keys = BrowserKeys()
    client = cast.client_for("alice")
    subscribe(client, keys, push.endpoint("a"))
    other = cast.client_for("bob")
    gone = other.post(
        UNSUBSCRIBE, json.dumps({"endpoint": push.endpoint("a")}), content_type="application/json"
    )
    assert gone.json() == {"removed": False}  # not bob's
    assert Device.objects.count() == 1
    done = client.post(
        UNSUBSCRIBE, json.dumps({"endpoint": push.endpoint("a")}), content_type="application/json"
    )
    assert done.json() == {"removed": True}
    assert not Device.objects.exists()


# --- What the subscribe endpoint refuses ---------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint, allow_private",
    [
        ("http://127.0.0.1:9/push/x", False),  # the site's own network
        ("https://10.0.0.5/push/x", False),
        ("https://localhost/push/x", False),
        ("ftp://push.example/x", True),
        ("not a url", True),
    ],
)
def test_push_addresses_the_server_must_not_post_to_are_refused(
    cast: Cast, settings: Any, endpoint: str, allow_private: bool
) -> None:
    settings.PUSH_ALLOW_PRIVATE_ADDRESSES = allow_private
    answer = subscribe(cast.client_for("alice"), BrowserKeys(), endpoint)
    assert answer.status_code == 422
    assert "push address" in answer.json()["error"]
    assert not Device.objects.exists()


@pytest.mark.parametrize(
    "body, status",
    [
        ("not json", 400),
        ("[]", 400),
        (json.dumps({"endpoint": "https://push.example/x"}), 400),
        (json.dumps({"endpoint": "https://push.example/x", "keys": {"p256dh": 1, "auth": 2}}), 400),
        (
            json.dumps(
                {"endpoint": "https://push.example/x", "keys": {"p256dh": "AAAA", "auth": "AAAA"}}
            ),
            422,
        ),
    ],
)
def test_a_malformed_subscription_is_a_clear_4xx(
    cast: Cast, settings: Any, body: str, status: int
) -> None:
    settings.PUSH_ALLOW_PRIVATE_ADDRESSES = True
    answer = cast.client_for("alice").post(SUBSCRIBE, body, content_type="application/json")
    assert answer.status_code == status
    assert answer.json()["error"]
    assert not Device.objects.exists()


def test_subscribing_needs_a_session_and_the_csrf_token(cast: Cast, settings: Any) -> None:
    settings.PUSH_ALLOW_PRIVATE_ADDRESSES = True
    body = json.dumps(BrowserKeys().subscription("https://push.example/x"))
    anonymous = Client().post(SUBSCRIBE, body, content_type="application/json")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cast.alice)
    assert strict.post(SUBSCRIBE, body, content_type="application/json").status_code == 403
    assert not Device.objects.exists()
    assert Client().get(SUBSCRIBE).status_code in (302, 405)


# --- The VAPID key -----------------------------------------------------------------------------


def test_the_key_is_generated_once_into_the_data_dir_with_mode_600(
    settings: Any, tmp_path: Any
) -> None:
    settings.DATA_DIR = tmp_path
    settings.PAWFILE_ENV = "development"
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    vapid._loaded.clear()
    first = vapid.public_key()
    path = tmp_path / vapid.KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    vapid._loaded.clear()  # another process, or a restart: the same key
    assert vapid.public_key() == first
    assert [p.name for p in tmp_path.iterdir()] == [vapid.KEY_FILE]  # no draft left


def test_the_key_from_the_setting_wins_in_pem_or_raw(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    key = ec.generate_private_key(ec.SECP256R1())
    public = vapid.b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    raw = vapid.b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    for value in (pem, raw):
        settings.WEBPUSH_VAPID_PRIVATE_KEY = value
        assert vapid.public_key() == public
    assert not (tmp_path / vapid.KEY_FILE).exists()
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "not a key"
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="WEBPUSH_VAPID_PRIVATE_KEY"):
        vapid.public_key()


def test_deploy_check_warns_when_nodes_would_not_share_the_key(settings: Any) -> None:
    settings.PRODUCTION, settings.REDIS_URL = True, "redis://127.0.0.1:6379/5"
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    assert [w.id for w in vapid.vapid_shared_check()] == ["pawfile.W501"]
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "set"
    assert vapid.vapid_shared_check() == []


# --- Service worker and manifest ---------------------------------------------------------------


def test_the_service_worker_is_served_for_the_whole_site(client: Client) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert 'addEventListener("push"' in body and "notificationclick" in body
    assert "/static/pawfile/icons/icon-192.png" in body


def test_the_manifest_makes_the_site_installable(client: Client, cast: Cast) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"]
    assert manifest["theme_color"] and manifest["background_color"]
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:  # every icon is there, a PNG of the size it says
        from PIL import Image

        from pawfile.config.settings import PACKAGE_DIR

        path = PACKAGE_DIR / icon["src"].replace("/static/", "static/", 1)
        with Image.open(path) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"]
    for page in (Client().get("/accounts/login/"), cast.client_for("alice").get("/pets/")):
        html = page.content.decode()
        assert '<link rel="manifest" href="/manifest.webmanifest">' in html
        assert '<meta name="theme-color"' in html


def test_web_push_gets_its_column_in_the_settings_and_follows_it(
    cast: Cast, push: FakePushService, django_capture_on_commit_callbacks: Any
) -> None:
    from pawfile.notifications import services

    client = cast.client_for("alice")
    assert "Browser push" not in client.get("/notifications/settings/").content.decode()
    subscribe(client, BrowserKeys(), push.endpoint("a"))
    page = client.get("/notifications/settings/").content.decode()
    assert '<th scope="col">Browser push</th>' in page
    services.preferences_update(
        user=cast.alice, off={(Kind.REMINDER, "webpush")}, quiet_start=None, quiet_end=None,
        digest=False,
    )  # fmt: skip
    send(cast.alice, "reminder:1", django_capture_on_commit_callbacks)
    send(cast.alice, "household:1", django_capture_on_commit_callbacks, kind=Kind.HOUSEHOLD)
    assert [d.notification.kind for d in Delivery.objects.filter(channel="webpush")] == [
        Kind.HOUSEHOLD
    ]
    assert len(push.for_("a")) == 1
