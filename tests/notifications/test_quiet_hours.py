"""Quiet hours and the daily digest, in the recipient's zone with a frozen clock: outside
deliveries are held, then sent as one mail when the quiet hours end (or at the digest
hour); the inbox gets them at once."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import Delivery, RecipientState
from pawfile.notifications.services import deliveries_release, notification_send, release_at
from pawfile.outbox.models import OutboxMessage
from tests.conftest import Cast
from tests.outbox.mailserver import ScriptedMailServer
from tests.smtp import text_body

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")


def at(local: str, zone: ZoneInfo = MADRID) -> dt.datetime:
    return dt.datetime.fromisoformat(local).replace(tzinfo=zone)


def quiet(user, start: str | None = "22:00", end: str | None = "07:00", digest: bool = False):
    user.timezone = "Europe/Madrid"
    user.save()
    RecipientState.objects.update_or_create(
        user=user,
        defaults={
            "quiet_start": dt.time.fromisoformat(start) if start else None,
            "quiet_end": dt.time.fromisoformat(end) if end else None,
            "digest": digest,
        },
    )


def send(user, key: str, title: str) -> None:
    notification_send(recipient=user, kind=Kind.REMINDER, title=title, body="", event_key=key)


def test_held_during_quiet_hours_then_one_mail_when_they_end(
    cast: Cast, smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    quiet(cast.alice)
    with time_machine.travel(at("2026-03-10T23:30"), tick=False):
        send(cast.alice, "r:1", "Pill at night")
        send(cast.alice, "r:2", "Water bowl")
    held = Delivery.objects.filter(status=DeliveryStatus.HELD)
    assert held.count() == 2
    assert {d.release_at for d in held} == {at("2026-03-11T07:00")}
    assert not OutboxMessage.objects.exists()
    assert cast.alice.notifications.filter(read_at__isnull=True).count() == 2  # inbox at once

    with time_machine.travel(at("2026-03-11T06:59"), tick=False):
        assert deliveries_release() == 0
    with (
        time_machine.travel(at("2026-03-11T07:00"), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert deliveries_release() == 1
        assert deliveries_release() == 0  # taken once
    mail = smtp.wait_for(to="alice@example.org")
    assert len(smtp.messages) == 1
    assert "Pill at night" in text_body(mail) and "Water bowl" in text_body(mail)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_outside_quiet_hours_nothing_waits(cast: Cast) -> None:
    quiet(cast.alice)
    with time_machine.travel(at("2026-03-10T12:00"), tick=False):
        send(cast.alice, "r:1", "Noon")
    assert Delivery.objects.get().status == DeliveryStatus.QUEUED


@pytest.mark.parametrize(
    ("start", "end", "now", "expected"),
    [
        # Same-day quiet hours.
        ("13:00", "15:00", "2026-03-10T14:00", "2026-03-10T15:00"),
        ("13:00", "15:00", "2026-03-10T15:00", None),
        # Spanning midnight, before and after it.
        ("22:00", "07:00", "2026-03-10T22:00", "2026-03-11T07:00"),
        ("22:00", "07:00", "2026-03-11T03:00", "2026-03-11T07:00"),
        # The night clocks go forward (Madrid, 29 March 2026 02:00 -> 03:00): still 07:00 local.
        ("22:00", "07:00", "2026-03-28T23:00", "2026-03-29T07:00"),
    ],
)
def test_release_time_is_the_end_in_the_recipients_zone(
    cast: Cast, start, end, now, expected
) -> None:
    quiet(cast.alice, start, end)
    state = RecipientState.objects.get(user=cast.alice)
    found = release_at(recipient=cast.alice, state=state, now=at(now))
    assert found == (at(expected) if expected else None)


def test_the_daily_digest_waits_for_the_digest_hour_and_sends_one_mail(
    cast: Cast, smtp: ScriptedMailServer, settings, django_capture_on_commit_callbacks
) -> None:
    settings.NOTIFY_DIGEST_HOUR = 8
    quiet(cast.alice, None, None, digest=True)
    with time_machine.travel(at("2026-03-10T09:00"), tick=False):
        send(cast.alice, "r:1", "Morning walk")
    with time_machine.travel(at("2026-03-10T18:00"), tick=False):
        send(cast.alice, "r:2", "Evening pill")
    assert {d.release_at for d in Delivery.objects.all()} == {at("2026-03-11T08:00")}
    with (
        time_machine.travel(at("2026-03-11T08:00:30"), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        deliveries_release()
    mail = smtp.wait_for(to="alice@example.org", subject_contains="2")
    assert "Morning walk" in text_body(mail) and "Evening pill" in text_body(mail)


def test_a_digest_hour_inside_quiet_hours_waits_for_their_end(cast: Cast, settings) -> None:
    settings.NOTIFY_DIGEST_HOUR = 6
    quiet(cast.alice, "22:00", "07:00", digest=True)
    state = RecipientState.objects.get(user=cast.alice)
    found = release_at(recipient=cast.alice, state=state, now=at("2026-03-10T12:00"))
    assert found == at("2026-03-11T07:00")
