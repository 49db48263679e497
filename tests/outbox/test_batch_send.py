"""Sending a batch (``outbox.batch.outbox_deliver_many``) over a real SMTP server: what the
email channel needs is read for the whole batch, and the successes are recorded together
at the end, so the statements do not grow with the batch; each ``Delivery`` gets its own
mail's ``Message-ID``; a batch cut short records what was sent before it stopped and leaves
the rest ``sending`` under the lease (the documented duplicate window is the batch)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pawfile.notifications.choices import DeliveryStatus
from pawfile.notifications.models import Delivery
from pawfile.outbox import batch as outbox_batch
from pawfile.outbox import mail
from pawfile.outbox.choices import AttemptOutcome, MessageStatus
from pawfile.outbox.models import OutboxAttempt, OutboxMessage
from pawfile.reminders import firing
from tests.reminders.test_firing_batch import FIRST, CountingMailServer, _world, smtp

pytestmark = pytest.mark.django_db
__all__ = ["smtp"]  # the fixture, used by name


def _fired(households: int, django_capture_on_commit_callbacks) -> list[int]:
    _world(households=households, per_household=1)
    with django_capture_on_commit_callbacks(execute=False):
        assert firing.reminders_fire_due(now=FIRST).fired == households
    return list(OutboxMessage.objects.order_by("pk").values_list("pk", flat=True))


@pytest.mark.parametrize("size", [5, 40])
def test_a_batch_costs_the_same_statements_whatever_its_size(
    size: int, smtp: CountingMailServer, django_capture_on_commit_callbacks
) -> None:
    ids = _fired(size, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as queries:
        assert outbox_batch.outbox_deliver_many(message_ids=ids) == {MessageStatus.SENT: size}
    # claim, read, three for the email channel, then BEGIN, UPDATE, INSERT, the deliveries'
    # UPDATE (in a savepoint) and COMMIT: never per mail
    assert len(queries) <= 14
    assert len(smtp.received) == size == len({mail_id for _to, mail_id in smtp.received})
    rows = OutboxMessage.objects.filter(pk__in=ids)
    assert set(rows.values_list("status", flat=True)) == {MessageStatus.SENT}
    attempts = OutboxAttempt.objects.filter(message_id__in=ids)
    assert sorted(attempts.values_list("message_id", "number", "outcome")) == [
        (i, 1, AttemptOutcome.SENT) for i in ids
    ]
    sent = {to: mail_id for to, mail_id in smtp.received}
    for delivery in Delivery.objects.filter(channel="email").select_related(
        "notification__recipient"
    ):
        assert delivery.status == DeliveryStatus.SENT and delivery.sent_at is not None
        assert delivery.provider_id == sent[delivery.notification.recipient.email]


def test_a_batch_cut_short_records_what_went_and_leaves_the_rest_under_the_lease(
    smtp: CountingMailServer, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    ids = _fired(6, django_capture_on_commit_callbacks)
    real = mail.send_alternative
    calls = []

    def send(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs["to"])
        if len(calls) == 4:
            raise KeyboardInterrupt  # the worker stopped in the middle of the batch
        real(**kwargs)

    monkeypatch.setattr("pawfile.notifications.channels.email.send_alternative", send)
    with pytest.raises(KeyboardInterrupt):
        outbox_batch.outbox_deliver_many(message_ids=ids)
    assert len(smtp.received) == 3
    statuses = dict(OutboxMessage.objects.values_list("pk", "status"))
    assert [statuses[i] for i in ids] == [MessageStatus.SENT] * 3 + [MessageStatus.SENDING] * 3
    assert Delivery.objects.filter(channel="email", status=DeliveryStatus.SENT).count() == 3
    assert OutboxMessage.objects.filter(lease_until__isnull=False).count() == 3


def test_after_batch_outside_a_batch_writes_at_once() -> None:
    seen: list[list[int]] = []
    outbox_batch.after_batch(seen.append, 7)
    assert seen == [[7]]
