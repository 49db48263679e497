"""Push devices: ``/api/v1/devices`` and the settings page's list. Own devices only (anyone
else's is 404, for every role of the household); removed on sign-out of the session that
registered them (web and API), after inactivity; in the export and gone with the account."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from pawfile.lib import registry
from pawfile.notifications import devices
from pawfile.notifications.models import Device
from tests.conftest import PASSWORD, Cast
from tests.notifications.pushfakes import BrowserKeys

pytestmark = pytest.mark.django_db

API = "/api/v1/devices"
APP = "/_allauth/app/v1"


def login(email: str) -> str:
    response = Client().post(
        f"{APP}/auth/login", {"email": email, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["meta"]["access_token"])


def call(method: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client().generic(
        method, path, json.dumps(body) if body is not None else "",
        content_type="application/json", headers=headers,
    )  # fmt: skip


def test_an_app_registers_lists_refreshes_and_removes_its_device(cast: Cast) -> None:
    token = login("alice@example.org")
    made = call(
        "POST", API, token, {"platform": "ios", "token": "apns-ish-token", "label": "Phone"}
    )
    assert made.status_code == 201
    body = made.json()
    assert body["platform"] == "ios" and body["label"] == "Phone" and body["web_push"] is False
    assert "token" not in body  # never shown back
    first_seen = Device.objects.get().last_seen_at

    again = call("POST", API, token, {"platform": "ios", "token": "apns-ish-token"})
    assert again.status_code == 201 and again.json()["id"] == body["id"]  # the same device
    assert Device.objects.get().last_seen_at > first_seen
    assert Device.objects.get().label == "Phone"  # kept when not sent again

    listed = call("GET", API, token)
    assert [d["id"] for d in listed.json()] == [body["id"]]
    assert call("DELETE", f"{API}/{body['id']}", token).status_code == 204
    assert not Device.objects.exists()
    assert call("DELETE", f"{API}/{body['id']}", token).status_code == 404


def test_a_token_registered_by_someone_else_moves_to_the_new_account(cast: Cast) -> None:
    call("POST", API, login("alice@example.org"), {"platform": "android", "token": "shared"})
    call("POST", API, login("bob@example.org"), {"platform": "android", "token": "shared"})
    assert list(Device.objects.values_list("user__email", flat=True)) == ["bob@example.org"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"platform": "windows-phone", "token": "t"}, "platform"),
        ({"platform": "ios", "token": ""}, "token"),
        ({"platform": "ios", "token": "x" * 1025}, "token"),
        ({"platform": "ios", "token": "has space"}, "token"),
        ({"platform": "web", "token": "https://fcm.googleapis.com/fcm/send/abc"}, "token"),
        ({"platform": "ios", "token": "t", "user_id": 2}, "user_id"),
        ({"platform": "ios", "token": "t", "label": "two\nlines"}, "label"),
    ],
)
def test_bad_registrations_are_422_with_a_message(cast: Cast, body: dict, field: str) -> None:
    answer = call("POST", API, login("alice@example.org"), body)
    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert error["message"] and any(field in key for key in error["fields"]), error
    assert not Device.objects.exists()


@pytest.mark.parametrize("role", ["bob", "carol", "charlie"])  # caretaker, viewer, stranger
def test_nobody_else_sees_or_removes_a_device(cast: Cast, role: str, settings: Any) -> None:
    own = devices.device_register(user=cast.alice, platform="android", token="alice-token")
    token = login(f"{role}@example.org")
    assert call("GET", API, token).json() == []
    assert call("DELETE", f"{API}/{own.pk}", token).status_code == 404
    web = cast.client_for(role).post(f"/notifications/devices/{own.pk}/remove")
    assert web.status_code == 404
    settings.PUSH_ALLOW_PRIVATE_ADDRESSES = True
    page = cast.client_for(role).get("/notifications/settings/")
    assert "alice-token" not in page.content.decode()
    assert Device.objects.filter(pk=own.pk).exists()


def test_anonymous_callers_are_refused(cast: Cast) -> None:
    own = devices.device_register(user=cast.alice, platform="android", token="alice-token")
    assert call("GET", API, None).status_code == 401
    assert call("POST", API, None, {"platform": "ios", "token": "t"}).status_code == 401
    assert call("DELETE", f"{API}/{own.pk}", None).status_code == 401
    web = Client().post(f"/notifications/devices/{own.pk}/remove")
    assert web.status_code == 302 and "/login" in web["Location"]
    assert Device.objects.count() == 1


def test_the_owner_removes_a_device_from_the_settings_page(cast: Cast) -> None:
    own = devices.device_register(
        user=cast.alice, platform="android", token="alice-token", label="Sam's phone"
    )
    client = cast.client_for("alice")
    page = client.get("/notifications/settings/").content.decode()
    assert "Sam&#x27;s phone" in page and f"/notifications/devices/{own.pk}/remove" in page
    assert 'id="push-on"' in page and "data-key=" in page
    done = client.post(f"/notifications/devices/{own.pk}/remove", follow=True)
    assert done.status_code == 200
    assert "no longer gets notifications" in done.content.decode()
    assert not Device.objects.exists()


def test_an_app_logout_removes_the_device_of_that_session_only(cast: Cast) -> None:
    phone, tablet = login("alice@example.org"), login("alice@example.org")
    call("POST", API, phone, {"platform": "android", "token": "phone-token"})
    call("POST", API, tablet, {"platform": "ios", "token": "tablet-token"})
    out = call("DELETE", f"{APP}/auth/session", phone)
    assert out.status_code == 401  # allauth's answer to a logout: no longer signed in
    assert list(Device.objects.values_list("token", flat=True)) == ["tablet-token"]


def test_a_web_sign_out_removes_the_browsers_subscription(cast: Cast, settings: Any) -> None:
    settings.PUSH_ALLOW_PRIVATE_ADDRESSES = True
    browser, other = Client(), Client()
    for client in (browser, other):
        client.post("/accounts/login/", {"login": "alice@example.org", "password": PASSWORD})
    for client, name in ((browser, "a"), (other, "b")):
        made = client.post(
            "/notifications/push/subscribe",
            json.dumps(BrowserKeys().subscription(f"https://push.example/{name}")),
            content_type="application/json",
        )
        assert made.status_code == 201, made.content
    browser.post("/accounts/logout/")
    assert list(Device.objects.values_list("token", flat=True)) == ["https://push.example/b"]


def test_devices_not_seen_for_the_configured_days_are_removed(cast: Cast, settings: Any) -> None:
    settings.PAWFILE_DEVICE_INACTIVE_DAYS = 30
    now = timezone.now()
    old = devices.device_register(user=cast.alice, platform="android", token="old")
    fresh = devices.device_register(user=cast.alice, platform="android", token="fresh")
    Device.objects.filter(pk=old.pk).update(last_seen_at=now - dt.timedelta(days=31))
    Device.objects.filter(pk=fresh.pk).update(last_seen_at=now - dt.timedelta(days=29))
    assert devices.devices_inactive_remove(now=now) == 1
    assert list(Device.objects.values_list("token", flat=True)) == ["fresh"]
    from pawfile.notifications.tasks import notification_devices_prune

    assert notification_devices_prune.call_local() == 0


def test_devices_are_in_the_export_without_their_tokens_and_go_with_the_account(
    cast: Cast,
) -> None:
    devices.device_register(user=cast.alice, platform="ios", token="secret-token", label="Phone")
    devices.device_register(user=cast.bob, platform="ios", token="bob-token")
    rows, _files = registry.export_sections(user=cast.alice)
    (row,) = rows["push_devices"]
    assert row["platform"] == "ios" and row["label"] == "Phone" and row["web_push"] is False
    assert "secret-token" not in json.dumps(rows["push_devices"], default=str)
    from pawfile.privacy import deletion

    deletion.account_delete(user=cast.alice)
    assert list(Device.objects.values_list("token", flat=True)) == ["bob-token"]


def test_the_admin_lists_devices_without_their_tokens(cast: Cast) -> None:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.urls import reverse

    cast.alice.is_staff = cast.alice.is_superuser = True  # the admin needs two factors too
    cast.alice.save()
    TOTP.activate(cast.alice, generate_totp_secret())
    admin_client = cast.client_for("alice")
    devices.device_register(user=cast.alice, platform="ios", token="secret-token", label="Phone")
    page = admin_client.get(reverse("admin:notifications_device_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Phone" in html and str(cast.alice) in html and "secret-token" not in html
