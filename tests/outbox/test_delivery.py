"""The outbox in one process: real database, real SMTP server, the task engine in immediate
mode (a task runs as it is enqueued), and the clock moved forward with time-machine."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from pawfile.outbox import handlers, services
from pawfile.outbox.choices import AttemptOutcome, MessageStatus
from pawfile.outbox.mail import mail_enqueue
from pawfile.outbox.models import OutboxMessage
from tests.outbox.mailserver import ScriptedMailServer
from tests.smtp import text_body

pytestmark = pytest.mark.django_db


def enqueue(key: str = "test:1", *, sensitive: bool = True, **extra: object) -> OutboxMessage:
    return mail_enqueue(
        key=key,
        to=["dana@example.org"],
        subject=f"Hello {key}",
        body="Your link: https://pawfile.test/secret-link/",
        sensitive=sensitive,
        **extra,  # type: ignore[arg-type]
    )


def outcomes(message: OutboxMessage) -> list[str]:
    return [a.outcome for a in message.attempt_log.order_by("pk")]


def later(**delta: float) -> time_machine.travel:
    return time_machine.travel(timezone.now() + timedelta(**delta), tick=True)


def test_a_mail_is_sent_after_commit_and_its_secret_text_dropped(
    smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = enqueue(html="<p>Your link</p>")
        assert smtp.messages == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()

    received = smtp.wait_for(to="dana@example.org", subject_contains="Hello test:1")
    assert "secret-link" in text_body(received)
    assert received["Message-ID"].startswith(f"<outbox.{message.pk}.")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.sent_at is not None and message.attempts == 1
    assert outcomes(message) == [AttemptOutcome.SENT]
    assert message.payload == {
        "to": ["dana@example.org"],
        "subject": "Hello test:1",
        "from_email": None,
    }


def test_a_mail_that_is_not_sensitive_keeps_its_text(
    smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(sensitive=False)
    smtp.wait_for(to="dana@example.org")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert "secret-link" in message.payload["body"]


def test_the_same_key_twice_is_one_message(
    smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = enqueue("invitation:7")
        second = mail_enqueue(
            key="invitation:7", to=["erin@example.org"], subject="Another", body="x"
        )
    assert second.pk == first.pk
    assert OutboxMessage.objects.count() == 1
    smtp.wait_for(to="dana@example.org")
    assert len(smtp.messages) == 1
    # Enqueueing it again after it was sent changes nothing either.
    with django_capture_on_commit_callbacks(execute=True):
        again = enqueue("invitation:7")
    assert again.pk == first.pk and again.status == MessageStatus.SENT
    assert len(smtp.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_message(smtp: ScriptedMailServer) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue("rolled-back")
        raise RuntimeError("the change that caused the mail failed")
    assert not OutboxMessage.objects.exists()
    assert smtp.messages == []


def test_a_refusal_then_success_delivers_once_with_both_attempts_recorded(
    smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    smtp.data_replies = ["451 4.3.0 Mailbox busy, try again later"]
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.attempts == 1
    assert "451" in message.last_error
    wait = message.next_attempt_at - timezone.now()
    assert timedelta(seconds=10) < wait <= timedelta(seconds=31)  # half to all of 30 s
    assert smtp.messages == []

    assert services.outbox_sweep() == 0  # not due yet: the sweeper leaves it
    with later(seconds=31):
        assert services.outbox_sweep() == 1

    smtp.wait_for(to="dana@example.org")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2 and message.last_error == ""
    assert outcomes(message) == [AttemptOutcome.RETRY, AttemptOutcome.SENT]
    attempt = message.attempt_log.order_by("pk").first()
    assert attempt is not None and "451" in attempt.error and attempt.duration_ms is not None
    with later(hours=2):
        services.outbox_sweep()
    assert len(smtp.messages) == 1


def test_a_permanent_refusal_fails_at_once_and_is_not_retried(
    smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    smtp.rcpt_replies = ["550 5.1.1 No such user here"]
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 1
    assert "550" in message.last_error and "No such user" in message.last_error
    assert outcomes(message) == [AttemptOutcome.FAILED]
    # A failed message keeps its text, so that an admin can retry it.
    assert "secret-link" in message.payload["body"]
    with later(days=1):
        assert services.outbox_sweep() == 0
    assert smtp.messages == []


def test_temporary_failures_stop_at_the_attempt_limit(
    smtp: ScriptedMailServer, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PAWFILE_OUTBOX_MAX_ATTEMPTS = 3
    smtp.data_replies = ["421 4.7.0 Try again later"] * 10
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    for hours in (1, 2, 3, 4):
        with later(hours=hours):
            services.outbox_sweep()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 3
    assert outcomes(message) == [AttemptOutcome.RETRY, AttemptOutcome.RETRY, AttemptOutcome.FAILED]
    assert smtp.messages == []


def test_an_unreachable_server_is_a_temporary_failure(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert "unreachable" in message.last_error


def test_backoff_doubles_with_jitter_up_to_the_cap(settings) -> None:
    settings.PAWFILE_OUTBOX_BACKOFF = 30
    for attempt, full in ((1, 30), (2, 60), (3, 120), (20, 3600)):
        waits = {services.backoff_delay(attempt=attempt).total_seconds() for _ in range(50)}
        assert all(full / 2 <= w <= full for w in waits), (attempt, waits)
        assert len(waits) > 1  # jittered


def test_a_worker_that_died_holding_the_lease_is_replaced_after_it_expires(
    smtp: ScriptedMailServer, settings
) -> None:
    settings.PAWFILE_OUTBOX_LEASE = 60
    message = enqueue()  # this test's transaction never commits: no task was enqueued
    claimed = services.outbox_claim(message_id=message.pk)  # a worker takes it ... and dies
    assert claimed is not None and claimed.status == MessageStatus.SENDING

    assert services.outbox_deliver(message_id=message.pk) is None  # leased: not ours
    with later(seconds=30):
        assert services.outbox_sweep() == 0
    with later(seconds=61):
        assert services.outbox_sweep() == 1

    smtp.wait_for(to="dana@example.org")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2
    assert outcomes(message) == [AttemptOutcome.LOST, AttemptOutcome.SENT]
    assert len(smtp.messages) == 1


def test_a_message_whose_worker_keeps_dying_fails_at_the_limit(
    smtp: ScriptedMailServer, settings
) -> None:
    settings.PAWFILE_OUTBOX_MAX_ATTEMPTS = 1
    message = enqueue()
    services.outbox_claim(message_id=message.pk)
    with later(seconds=settings.PAWFILE_OUTBOX_LEASE + 1):
        assert services.outbox_sweep() == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "lease expired" in message.last_error
    assert outcomes(message) == [AttemptOutcome.LOST]
    assert smtp.messages == []


def test_a_new_message_whose_task_was_lost_is_sent_by_the_sweeper(
    smtp: ScriptedMailServer,
) -> None:
    message = enqueue()  # committed, but its task never reached the queue
    assert services.outbox_sweep() == 0  # its own task gets a minute first
    with later(seconds=61):
        assert services.outbox_sweep() == 1
    smtp.wait_for(to="dana@example.org")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 1


def test_a_handler_crash_is_a_temporary_failure_and_unknown_kinds_wait(monkeypatch) -> None:
    def explode(message: OutboxMessage) -> None:
        raise RuntimeError("the provider's library fell over")

    monkeypatch.setitem(handlers._HANDLERS, "test.boom", handlers.Handler("test.boom", explode))
    boom = services.outbox_enqueue(kind="test.boom", key="boom:1", payload={})
    assert services.outbox_deliver(message_id=boom.pk) == MessageStatus.PENDING
    boom.refresh_from_db()
    assert boom.last_error == "RuntimeError: the provider's library fell over"

    orphan = OutboxMessage.objects.create(key="orphan:1", kind="retired.kind")
    assert services.outbox_deliver(message_id=orphan.pk) == MessageStatus.PENDING
    orphan.refresh_from_db()
    assert "no handler for kind 'retired.kind'" in orphan.last_error


def test_enqueue_refuses_unknown_kinds_and_bad_keys() -> None:
    with pytest.raises(ValueError, match="no outbox handler"):
        services.outbox_enqueue(kind="nope", key="k", payload={})
    with pytest.raises(ValueError, match="1 to 200"):
        services.outbox_enqueue(kind="email", key="k" * 201, payload={})
    with pytest.raises(ValueError, match="recipient"):
        mail_enqueue(key="k", to=[], subject="s", body="b")


def test_old_sent_and_failed_messages_are_purged(settings) -> None:
    settings.PAWFILE_OUTBOX_KEEP_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    for status in MessageStatus.values:
        OutboxMessage.objects.create(
            key=f"old:{status}", kind="email", status=status, updated_at=old
        )
    OutboxMessage.objects.create(key="recent", kind="email", status=MessageStatus.SENT)
    assert services.outbox_purge() == 2
    left = set(OutboxMessage.objects.values_list("key", flat=True))
    assert left == {"old:pending", "old:sending", "recent"}
