"""A handler that says when the provider wants it back (``DeliveryError.retry_after``): the
next attempt is not before that, jittered by at most a tenth, never past ``BACKOFF_CAP``;
without it, the outbox's own backoff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from pawfile.outbox import handlers, services
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def _busy(retry_after: float | None) -> None:
    def deliver(message: OutboxMessage) -> None:
        raise handlers.DeliveryError("429 slow down", retry_after=retry_after)

    handlers._HANDLERS["test.busy"] = handlers.Handler("test.busy", deliver)


@pytest.fixture(autouse=True)
def _forget_handler(settings) -> Iterator[None]:
    settings.PAWFILE_OUTBOX_BACKOFF = 30
    yield
    handlers._HANDLERS.pop("test.busy", None)


def _attempt(retry_after: float | None) -> tuple[OutboxMessage, float]:
    _busy(retry_after)
    message = OutboxMessage.objects.create(key="busy:1", kind="test.busy", payload={})
    assert services.outbox_deliver(message_id=message.pk) == MessageStatus.PENDING
    message.refresh_from_db()
    failed_at = message.attempt_log.get().created_at
    return message, (message.next_attempt_at - failed_at).total_seconds()


def test_the_next_attempt_is_not_before_the_provider_asked() -> None:
    message, wait = _attempt(600)
    assert 600 <= wait <= 630
    early = message.next_attempt_at - timedelta(seconds=5)
    assert services.outbox_claim(message_id=message.pk, now=early) is None
    assert services.outbox_claim(message_id=message.pk, now=message.next_attempt_at) is not None


def test_a_shorter_retry_after_than_the_backoff_keeps_the_backoff() -> None:
    _message, wait = _attempt(2)
    assert 15 <= wait <= 30  # the first backoff (30 s, equal jitter)


def test_no_retry_after_is_the_backoff() -> None:
    _message, wait = _attempt(None)
    assert 15 <= wait <= 30


def test_a_day_is_capped() -> None:
    _message, wait = _attempt(86400)
    assert wait == pytest.approx(services.BACKOFF_CAP.total_seconds(), abs=0.01)


def test_retry_delay_spreads_one_retry_after_over_up_to_a_tenth() -> None:
    waits = {services.retry_delay(attempt=1, retry_after=100).total_seconds() for _ in range(50)}
    assert min(waits) >= 100 and max(waits) <= 110 and len(waits) > 1
    assert services.retry_delay(attempt=1, retry_after=0) <= timedelta(seconds=30)
