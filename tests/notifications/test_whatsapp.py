"""The WhatsApp channel against a local Graph API fake: a fired reminder arrives as the
configured template with its parameters and signed quick-reply payloads; permanent errors
block the channel and say so in the inbox; 429 (with Retry-After), 500 and timeouts are
retried with one message in the end; "success after our timeout" sends twice (the
documented duplicate window); free text only within the 24-hour window."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from pawfile.notifications.channels import whatsapp
from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import ChannelBlock, Delivery, Notification, ProviderMessage
from pawfile.notifications.services import notification_send, preferences_update
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.models import OutboxMessage
from pawfile.outbox.services import outbox_deliver
from pawfile.reminders import firing, services
from tests.conftest import Cast
from tests.notifications.phonefakes import (
    GraphFake,
    verified_phone,
)

pytestmark = pytest.mark.django_db

ALICE = "+34600111222"


def fire_reminder(cast: Cast, pet: Any, run: Any, **fields: Any) -> Any:
    """A daily reminder for Rex made by alice, fired once at its first time."""
    now = timezone.now()
    reminder = services.reminder_create(
        actor=cast.alice, pet=pet, now=now, title="Give Rex his pill",
        start_date=(now + dt.timedelta(days=1)).date(), start_time=dt.time(9, 0),
        timezone="Europe/Madrid", rule="FREQ=DAILY;INTERVAL=1", **fields,
    )  # fmt: skip
    with run(execute=True):
        assert firing.reminders_fire_due(now=reminder.next_fire_at).fired == 1
    return reminder


def send(user: Any, run: Any, *, key: str = "system:1", kind: str = Kind.SYSTEM) -> Any:
    with run(execute=True):
        return notification_send(
            recipient=user, kind=kind, title="Welcome", body="Your household is ready.",
            link="/pets/", event_key=key,
        )  # fmt: skip


def retry_now(message: OutboxMessage) -> str | None:
    """Make the message's retry due and deliver it (as the sweeper would, later)."""
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    return outbox_deliver(message_id=message.pk)


def test_a_fired_reminder_arrives_as_the_template_with_its_params_and_buttons(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "whatsapp", ALICE)
    fire_reminder(cast, pet, django_capture_on_commit_callbacks)

    [message] = graph.messages()  # alice only: bob has no WhatsApp number
    assert message["to"] == ALICE and message["type"] == "template"
    template = message["template"]
    assert template["name"] == "pet_reminder" and template["language"] == {"code": "en"}
    body, done, snooze = template["components"]
    title, text = (p["text"] for p in body["parameters"])
    assert title == "Give Rex his pill"
    assert text.startswith("Rex: due ") and "\n" not in text
    notification = Notification.objects.get(recipient=cast.alice)
    assert (done["sub_type"], done["index"]) == ("quick_reply", "0")
    assert (snooze["sub_type"], snooze["index"]) == ("quick_reply", "1")
    done_id = done["parameters"][0]["payload"]
    assert whatsapp.button_parse(done_id) == ("done", str(notification.pk))
    assert whatsapp.button_parse(snooze["parameters"][0]["payload"]) == (
        "snooze1h", str(notification.pk),
    )  # fmt: skip
    assert whatsapp.button_parse(done_id[:-1] + ("0" if done_id[-1] != "0" else "1")) is None

    delivery = Delivery.objects.get(notification=notification, channel="whatsapp")
    assert delivery.status == DeliveryStatus.SENT and delivery.provider_id.startswith("wamid.")
    assert ProviderMessage.objects.get(provider_id=delivery.provider_id).delivery == delivery


def test_without_a_template_a_reminder_is_an_interactive_message_in_the_window(
    cast: Cast, pet: Any, graph: GraphFake, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WHATSAPP_TEMPLATE_REMINDER = ""
    verified_phone(cast.alice, "whatsapp", ALICE, last_inbound_at=timezone.now())
    fire_reminder(cast, pet, django_capture_on_commit_callbacks)
    [message] = graph.messages()
    assert message["type"] == "interactive"
    interactive = message["interactive"]
    assert interactive["type"] == "button"
    assert "*Give Rex his pill*" in interactive["body"]["text"]
    titles = [b["reply"]["title"] for b in interactive["action"]["buttons"]]
    assert titles == ["Done", "Snooze 1 h"]


def test_free_text_within_the_window_and_refused_outside_it_without_a_template(
    cast: Cast, graph: GraphFake, settings, django_capture_on_commit_callbacks
) -> None:
    row = verified_phone(cast.alice, "whatsapp", ALICE, last_inbound_at=timezone.now())
    send(cast.alice, django_capture_on_commit_callbacks, key="system:1")
    [message] = graph.messages()
    assert message["type"] == "text"
    assert message["text"]["body"].startswith("*Welcome*\nYour household is ready.\nhttp")

    settings.WHATSAPP_TEMPLATE_REMINDER = ""
    row.last_inbound_at = timezone.now() - dt.timedelta(hours=25)
    row.save()
    send(cast.alice, django_capture_on_commit_callbacks, key="system:2")
    assert len(graph.messages()) == 1  # nothing sent: WhatsApp would refuse it
    delivery = Delivery.objects.get(notification__event_key="system:2", channel="whatsapp")
    assert delivery.status == DeliveryStatus.FAILED and "24-hour" in delivery.error
    assert not ChannelBlock.objects.exists()  # not the person's fault: not blocked


def test_the_language_is_the_recipients(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    cast.alice.locale = "es"
    cast.alice.save()
    verified_phone(cast.alice, "whatsapp", ALICE, last_inbound_at=timezone.now())
    preferences_update(user=cast.alice, off=[], quiet_start=None, quiet_end=None, digest=True)
    with django_capture_on_commit_callbacks(execute=True):
        for n in (1, 2):
            notification_send(
                recipient=cast.alice, kind=Kind.SYSTEM, title=f"Aviso {n}", body="",
                event_key=f"system:{n}",
            )  # fmt: skip
    assert not graph.messages()  # held for the digest
    from pawfile.notifications.services import deliveries_release

    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_release(now=timezone.now() + dt.timedelta(days=1)) >= 1
    [message] = graph.messages()  # the two held ones in one message
    assert message["text"]["body"].startswith("*2 notificaciones*")
    assert "• Aviso 1" in message["text"]["body"] and "• Aviso 2" in message["text"]["body"]


def test_unreachable_number_131026_blocks_the_channel_and_tells_the_inbox(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "whatsapp", ALICE, last_inbound_at=timezone.now())
    graph.script(400, "error_131026.json")
    send(cast.alice, django_capture_on_commit_callbacks, key="system:1")
    message = OutboxMessage.objects.get(kind="notify.whatsapp")
    assert message.status == MessageStatus.FAILED and "131026" in message.last_error
    delivery = Delivery.objects.get(channel="whatsapp")
    assert delivery.status == DeliveryStatus.FAILED and "131026" in delivery.error
    block = ChannelBlock.objects.get(user=cast.alice, channel="whatsapp")
    assert "131026" in block.reason
    notice = Notification.objects.get(
        recipient=cast.alice, kind=Kind.SYSTEM, event_key__startswith="channel-blocked"
    )
    assert notice.title == "WhatsApp notifications are off"
    # The next notification does not try WhatsApp at all.
    send(cast.alice, django_capture_on_commit_callbacks, key="system:2")
    assert not Delivery.objects.filter(
        notification__event_key="system:2", channel="whatsapp"
    ).exists()
    assert len(graph.requests) == 1


@pytest.mark.parametrize(
    ("status", "fixture", "headers"),
    [
        (429, "error_130429.json", {"Retry-After": "1"}),
        (500, "error_500.json", {}),
        (503, None, {}),
    ],
)
def test_a_passing_refusal_is_retried_and_one_message_arrives(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks, status: int,
    fixture: str | None, headers: dict[str, str],
) -> None:  # fmt: skip
    verified_phone(cast.alice, "whatsapp", ALICE, last_inbound_at=timezone.now())
    graph.script(status, fixture, headers=headers)
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.whatsapp")
    assert message.status == MessageStatus.PENDING  # waits for its retry
    assert message.next_attempt_at > timezone.now()
    if headers:
        assert "retry after 1 s" in message.last_error
    assert Delivery.objects.get(channel="whatsapp").status == DeliveryStatus.QUEUED
    assert not ChannelBlock.objects.exists()
    assert retry_now(message) == MessageStatus.SENT
    assert len(graph.messages()) == 1  # one message in the end
    assert Delivery.objects.get(channel="whatsapp").status == DeliveryStatus.SENT
    outcomes = list(message.attempt_log.order_by("number").values_list("outcome", flat=True))
    assert outcomes == ["retry", "sent"]


def test_a_timeout_is_retried(
    cast: Cast, graph: GraphFake, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monkeypatch.setattr(whatsapp, "TIMEOUT", 0.5)
    verified_phone(cast.alice, "whatsapp", ALICE, last_inbound_at=timezone.now())
    graph.script(200, None, delay=3.0)  # never answers in time, takes nothing
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.whatsapp")
    assert message.status == MessageStatus.PENDING and "timed out" in message.last_error
    assert retry_now(message) == MessageStatus.SENT
    assert len(graph.messages()) == 1


def test_success_after_our_timeout_sends_twice_the_documented_window(
    cast: Cast, graph: GraphFake, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """The Cloud API takes no idempotency key: when it takes a message after our request
    gave up, the retry sends it again. That is the one duplicate window (the timeout)."""
    monkeypatch.setattr(whatsapp, "TIMEOUT", 0.5)
    verified_phone(cast.alice, "whatsapp", ALICE, last_inbound_at=timezone.now())
    graph.script(200, None, delay=1.5, then_ok=True)
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.whatsapp")
    assert message.status == MessageStatus.PENDING
    graph.wait_for(1)  # the provider took it after we stopped waiting
    assert retry_now(message) == MessageStatus.SENT
    assert len(graph.messages()) == 2
    assert Delivery.objects.get(channel="whatsapp").status == DeliveryStatus.SENT


def test_a_bad_token_is_retried_not_blamed_on_the_person(
    cast: Cast, graph: GraphFake, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WHATSAPP_TOKEN = "expired"
    verified_phone(cast.alice, "whatsapp", ALICE, last_inbound_at=timezone.now())
    send(cast.alice, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(kind="notify.whatsapp")
    assert message.status == MessageStatus.PENDING and "190" in message.last_error
    assert not ChannelBlock.objects.exists()


def test_an_unverified_or_opted_out_number_is_not_a_route(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    from pawfile.notifications.models import PhoneChannel

    PhoneChannel.objects.create(user=cast.alice, channel="whatsapp", phone=ALICE)
    verified_phone(cast.bob, "whatsapp", "+34600333444").__class__.objects.filter(
        user=cast.bob
    ).update(opted_in=False)
    send(cast.alice, django_capture_on_commit_callbacks, key="system:a")
    send(cast.bob, django_capture_on_commit_callbacks, key="system:b")
    assert not Delivery.objects.filter(channel="whatsapp").exists()
    assert not graph.requests


def test_the_outbox_key_makes_one_message_per_event(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "whatsapp", ALICE, last_inbound_at=timezone.now())
    send(cast.alice, django_capture_on_commit_callbacks, key="system:same")
    send(cast.alice, django_capture_on_commit_callbacks, key="system:same")
    message = OutboxMessage.objects.get(kind="notify.whatsapp")
    assert outbox_deliver(message_id=message.pk) is None  # already sent: not claimed again
    assert len(graph.messages()) == 1


def test_the_template_language_follows_the_recipient(
    cast: Cast, pet: Any, graph: GraphFake, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WHATSAPP_TEMPLATE_LANG = "en_US,es"
    cast.alice.locale = "es"
    cast.alice.save()
    verified_phone(cast.alice, "whatsapp", ALICE)
    verified_phone(cast.bob, "whatsapp", "+34600333444")
    fire_reminder(cast, pet, django_capture_on_commit_callbacks)
    languages = {m["to"]: m["template"]["language"]["code"] for m in graph.messages()}
    assert languages == {ALICE: "es", "+34600333444": "en_US"}
    spanish = next(m for m in graph.messages() if m["to"] == ALICE)
    assert spanish["template"]["components"][0]["parameters"][1]["text"].startswith("Rex: ")
