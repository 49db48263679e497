"""The sessions page names devices as people know them, and fits a phone (no wide table)."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client

from pawfile.accounts.templatetags.useragent import device_label
from tests.conftest import PASSWORD, Cast

pytestmark = pytest.mark.django_db

ANDROID_FIREFOX = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)


def test_device_labels() -> None:
    assert device_label(ANDROID_FIREFOX) == "Firefox Mobile on Android"
    assert device_label(IPHONE_SAFARI) == "Mobile Safari on iOS"
    assert device_label("") == "Unknown device"
    assert device_label("curl/8.5.0") == "curl"
    assert device_label("x" * 80) == "x" * 60  # unknown to the parser: the start of it


def test_sessions_list_other_devices_and_offers_to_sign_them_out(cast: Cast) -> None:
    client = Client(headers={"User-Agent": IPHONE_SAFARI})
    phone = Client(headers={"User-Agent": ANDROID_FIREFOX}, REMOTE_ADDR="203.0.113.9")
    for device in (client, phone):  # signing in through the form records the session
        answer = device.post("/accounts/login/", {"login": cast.alice.email, "password": PASSWORD})
        assert answer.status_code == 302, answer.content[:300]
    assert UserSession.objects.filter(user=cast.alice).count() == 2
    html = client.get("/accounts/sessions/").content.decode()
    assert "Firefox Mobile on Android" in html
    assert "203.0.113.9" in html
    assert "This device" in html
    assert "Sign out the other sessions" in html
    assert "<table" not in html
    spanish = client.get("/accounts/sessions/", headers={"Accept-Language": "es"})
    assert "Firefox Mobile en Android" in spanish.content.decode()
