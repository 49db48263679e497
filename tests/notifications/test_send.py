"""``notification_send``: one notification per event and recipient, one delivery per
channel that reaches them, nothing for a kind muted everywhere, all inside the caller's
transaction."""

from __future__ import annotations

import pytest
from django.db import transaction

from pawfile.notifications import selectors
from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import Delivery, Notification, Preference
from pawfile.notifications.services import notification_send
from pawfile.outbox.models import OutboxMessage
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def send(user, key: str = "reminder:1", kind: str = Kind.REMINDER, **extra):
    return notification_send(
        recipient=user, kind=kind, title="Give Rex his pill", body="At 20:00",
        link="/pets/", event_key=key, **extra,
    )  # fmt: skip


def test_one_notification_and_one_outbox_email_per_event(cast: Cast, pet) -> None:
    first = send(cast.alice, actor=cast.bob, pet=pet)
    again = send(cast.alice, actor=cast.bob, pet=pet)

    assert first is not None and again is not None and again.pk == first.pk
    assert Notification.objects.count() == 1
    assert first.actor == cast.bob and first.pet == pet and first.in_inbox
    delivery = Delivery.objects.get()
    assert (delivery.channel, delivery.status) == ("email", DeliveryStatus.QUEUED)
    message = OutboxMessage.objects.get()
    assert message.kind == "notify.email"
    assert message.key == f"notify:email:{cast.alice.pk}:reminder:1"
    assert message.payload == {"deliveries": [delivery.pk]}
    assert selectors.unread_count(user=cast.alice) == 1
    assert selectors.unread_count(user=cast.bob) == 0


def test_the_same_event_reaches_two_people_once_each(cast: Cast) -> None:
    send(cast.alice)
    send(cast.bob)
    assert Notification.objects.count() == 2
    assert OutboxMessage.objects.count() == 2


def test_a_kind_muted_on_every_channel_sends_nothing(cast: Cast) -> None:
    for channel in ("inapp", "email"):
        Preference.objects.create(
            user=cast.alice, kind=Kind.REMINDER, channel=channel, enabled=False
        )

    assert send(cast.alice) is None
    assert not Notification.objects.exists() and not OutboxMessage.objects.exists()
    assert send(cast.alice, key="update:1", kind=Kind.PET_UPDATE) is not None


def test_muted_in_the_inbox_only_still_mails_but_stays_out_of_the_bell(cast: Cast) -> None:
    Preference.objects.create(user=cast.alice, kind=Kind.REMINDER, channel="inapp", enabled=False)
    notification = send(cast.alice)
    assert notification is not None and not notification.in_inbox
    assert selectors.unread_count(user=cast.alice) == 0
    assert OutboxMessage.objects.filter(kind="notify.email").count() == 1


def test_a_switched_off_channel_is_not_used(cast: Cast, settings) -> None:
    settings.NOTIFY_EMAIL_ENABLED = False
    send(cast.alice)
    assert not OutboxMessage.objects.exists()
    assert Notification.objects.count() == 1


def test_an_unknown_kind_follows_the_everything_else_row(cast: Cast) -> None:
    Preference.objects.create(user=cast.alice, kind=Kind.OTHER, channel="email", enabled=False)
    send(cast.alice, kind="booking_confirmed")
    assert not OutboxMessage.objects.exists()


def test_nothing_stays_when_the_callers_transaction_rolls_back(cast: Cast) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        send(cast.alice)
        raise RuntimeError("the reminder change failed")
    assert not Notification.objects.exists() and not OutboxMessage.objects.exists()


def test_bad_event_keys_are_refused(cast: Cast) -> None:
    with pytest.raises(ValueError):
        send(cast.alice, key="")
    with pytest.raises(ValueError):
        send(cast.alice, key="x" * 151)


def test_the_caller_may_narrow_the_channels(cast: Cast) -> None:
    only_inbox = send(cast.alice, channels=["inapp"])
    assert only_inbox is not None and only_inbox.in_inbox
    assert not OutboxMessage.objects.exists()
    only_mail = send(cast.alice, key="reminder:2", channels=["email"])
    assert only_mail is not None and not only_mail.in_inbox
    assert OutboxMessage.objects.count() == 1
    assert send(cast.alice, key="reminder:3", channels=["sms"]) is None  # no such channel here
