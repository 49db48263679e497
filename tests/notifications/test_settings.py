"""The settings page (kind x channel, quiet hours, digest, turning a blocked channel on
again) and the user's data: export and deletion through the registry."""

from __future__ import annotations

import datetime as dt

import pytest

from pawfile.lib import registry
from pawfile.notifications.choices import Kind
from pawfile.notifications.models import ChannelBlock, Notification, Preference, RecipientState
from pawfile.notifications.services import notification_send
from pawfile.privacy.export import export_document
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def all_on(**extra: str) -> dict[str, str]:
    data = {
        f"on__{kind}__{channel}": "on" for kind in Kind.values for channel in ("inapp", "email")
    }
    return {**data, **extra}


def test_settings_page_saves_kind_by_channel_quiet_hours_and_digest(cast: Cast) -> None:
    client = cast.client_for("alice")
    page = client.get("/notifications/settings/")
    assert page.status_code == 200
    assert page.content.count(b'type="checkbox" name="on__') == len(Kind.values) * 2
    data = all_on(quiet_start="22:00", quiet_end="07:00", digest="on")
    del data["on__reminder__email"]
    response = client.post("/notifications/settings/", data)
    assert response.status_code == 302
    assert list(Preference.objects.values_list("kind", "channel", "enabled")) == [
        ("reminder", "email", False)
    ]
    state = RecipientState.objects.get(user=cast.alice)
    assert (state.quiet_start, state.quiet_end, state.digest) == (
        dt.time(22), dt.time(7), True,
    )  # fmt: skip
    page = client.get("/notifications/settings/").content.decode()
    assert (
        'name="on__reminder__email" id="id_on__reminder__email" aria-label="Reminders: Email">'
        in page
    )


def test_half_quiet_hours_are_a_400_with_a_message(cast: Cast) -> None:
    response = cast.client_for("alice").post(
        "/notifications/settings/", all_on(quiet_start="22:00")
    )
    assert response.status_code == 400
    assert b"both the start and the end" in response.content
    assert not RecipientState.objects.filter(quiet_start__isnull=False).exists()


def test_a_blocked_channel_is_shown_and_can_be_turned_on_again(cast: Cast) -> None:
    ChannelBlock.objects.create(user=cast.alice, channel="email", reason="550 no such user")
    client = cast.client_for("alice")
    assert b'name="unblock" value="email"' in client.get("/notifications/settings/").content
    client.post("/notifications/settings/", all_on(unblock="email"))
    assert not ChannelBlock.objects.exists()


def test_settings_need_a_sign_in(client) -> None:
    response = client.get("/notifications/settings/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_export_and_deletion_include_notifications_and_settings(cast: Cast) -> None:
    notification_send(recipient=cast.alice, kind=Kind.REMINDER, title="Pill", body="",
                      event_key="r:1", actor=cast.bob)  # fmt: skip
    notification_send(recipient=cast.bob, kind=Kind.PET_UPDATE, title="Rex", body="",
                      event_key="u:1", actor=cast.alice)  # fmt: skip
    Preference.objects.create(user=cast.alice, kind="reminder", channel="email", enabled=False)

    document, _files = export_document(user=cast.alice)
    assert [n["title"] for n in document["notifications"]] == ["Pill"]
    assert document["notifications"][0]["deliveries"][0]["channel"] == "email"
    assert document["notification_settings"]["off"] == [{"kind": "reminder", "channel": "email"}]

    assert registry.deletion_files("account", cast.alice) == []
    assert not Notification.objects.filter(recipient=cast.alice).exists()
    assert not Preference.objects.filter(user=cast.alice).exists()
    assert Notification.objects.get(recipient=cast.bob).actor is None
