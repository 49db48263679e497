"""Writes of the outbox: enqueue, claim and deliver, sweep, retry by hand, purge.

Life of a message (``OutboxMessage.status``)::

    pending --claim--> sending --handler returns---------------------------> sent
       ^                  |----temporary error, attempts left (backoff)---> pending
       |                  |----permanent error, or out of attempts--------> failed
       |                  `----worker died: lease expires, claimed again (recorded "lost")
       `-------------------------------- admin "retry" <------------------- failed

``outbox_enqueue`` writes the row in the caller's transaction; after commit, the task queue
gets only the row's id. ``outbox_deliver`` claims the row with one conditional UPDATE (the
lease), calls the kind's handler, and records the outcome and an attempt row.
``outbox_sweep`` (every minute) enqueues rows whose retry is due or whose lease expired, and
fresh rows whose own task never ran. The queue's own retries are never used: a task that
fails does not run again by itself, only through the row.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from pawfile.lib.tasks import enqueue_on_commit
from pawfile.outbox.choices import AttemptOutcome, MessageStatus
from pawfile.outbox.handlers import DeliveryError, Handler, handler_get
from pawfile.outbox.models import OutboxAttempt, OutboxMessage

log = logging.getLogger(__name__)

KEY_MAX = 200
ERROR_MAX = 2000
# A new row's task is enqueued when the row commits. The sweeper gives that task this long
# before it assumes the task was lost (the process died between commit and enqueue, or the
# broker was down) and enqueues the row itself.
FRESH_GRACE = timedelta(seconds=60)
# No wait between two attempts is longer than this, whatever the backoff doubling says.
BACKOFF_CAP = timedelta(hours=1)
SWEEP_BATCH = 500
PURGE_BATCH = 1000
LOST_ERROR = "the worker stopped before the attempt ended (lease expired)"


def _lease() -> timedelta:
    return timedelta(seconds=settings.PAWFILE_OUTBOX_LEASE)


def _deliver_soon(message_id: int) -> None:
    """Enqueue the delivery task; if the broker cannot take it, the sweeper will."""
    from pawfile.outbox.tasks import outbox_deliver

    try:
        outbox_deliver(message_id)
    except Exception:
        # The row is committed; failing the request that wrote it would help nobody.
        log.warning("outbox: could not enqueue message %s; the sweeper will", message_id)


# --- Enqueue -----------------------------------------------------------------------------------


def outbox_enqueue(
    *, kind: str, key: str, payload: dict[str, Any], sensitive: bool = True
) -> OutboxMessage:
    """Write a message for ``kind``'s handler in the caller's transaction; deliver it after commit.

    ``key`` is the idempotency key, unique across kinds (at most 200 characters; say what it
    is about, e.g. ``invitation:42``). ``payload`` must be JSON-serialisable. When
    ``sensitive``, the payload is cut down to what the handler keeps once the message is sent.

    Returns the row. If a row with ``key`` exists already, it is returned as it is and nothing
    is enqueued: the same key never makes a second message. Raises ``ValueError`` for a kind
    without a handler or an empty or overlong key (mistakes in the calling code).
    """
    if handler_get(kind) is None:
        raise ValueError(f"no outbox handler for kind {kind!r}")
    if not key or len(key) > KEY_MAX:
        raise ValueError(f"outbox keys are 1 to {KEY_MAX} characters, got {len(key)}")
    now = timezone.now()
    try:
        # INSERT first (most keys are new), in a savepoint so that a duplicate key leaves the
        # caller's transaction usable; then the existing row.
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                key=key,
                kind=kind,
                payload=payload,
                sensitive=sensitive,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        return OutboxMessage.objects.get(key=key)
    enqueue_on_commit(_deliver_soon, message.pk)
    return message


# --- Claim and deliver -------------------------------------------------------------------------


def outbox_claim(*, message_id: int, now: datetime | None = None) -> OutboxMessage | None:
    """Take ``message_id`` for one delivery attempt; ``None`` when it is not ours to send.

    One conditional UPDATE makes the row ``sending``, leased until now +
    ``PAWFILE_OUTBOX_LEASE``, with ``attempts`` + 1: a ``pending`` row whose time has come,
    or else a ``sending`` row whose lease expired (its worker died or hung) and which has
    attempts left; taking over an expired lease records the lost attempt. Of workers racing
    for one row, the database lets exactly one update it. Returns the claimed row, or ``None``
    when it is sent, failed, not due yet, leased by another worker, or gone.
    """
    now = now or timezone.now()
    changes: dict[str, Any] = {
        "status": MessageStatus.SENDING,
        "lease_until": now + _lease(),
        "attempts": F("attempts") + 1,
        "updated_at": now,
    }
    rows = OutboxMessage.objects.filter(pk=message_id)
    claimed = rows.filter(status=MessageStatus.PENDING, next_attempt_at__lte=now).update(**changes)
    lost = False
    if not claimed:
        lost = bool(
            rows.filter(
                status=MessageStatus.SENDING,
                lease_until__lte=now,
                attempts__lt=settings.PAWFILE_OUTBOX_MAX_ATTEMPTS,
            ).update(**changes)
        )
        if not lost:
            return None
    message = rows.first()
    if message is not None and lost:
        OutboxAttempt.objects.create(
            message=message,
            number=message.attempts - 1,
            outcome=AttemptOutcome.LOST,
            error=LOST_ERROR,
            created_at=now,
        )
    return message


def outbox_deliver(*, message_id: int) -> str | None:
    """Claim the message, hand it to its kind's handler, and record what happened.

    Returns the message's new status (``sent``, ``pending`` for a retry, ``failed``), or
    ``None`` when it could not be claimed (see :func:`outbox_claim`). Never raises for a
    failed delivery: a ``DeliveryError`` or any other exception from the handler becomes a
    retry with backoff, or ``failed`` when permanent or out of attempts.
    """
    message = outbox_claim(message_id=message_id)
    if message is None:
        return None
    return outbox_attempt(message)


def outbox_attempt(
    message: OutboxMessage, *, sent_later: list[tuple[OutboxMessage, Handler, int]] | None = None
) -> str:
    """One attempt at a message this worker has claimed (``outbox_claim``, or
    ``batch.outbox_claim_many``): call the kind's handler and record the outcome, as
    :func:`outbox_deliver` describes. Returns the message's new status.

    With ``sent_later`` (a batch), a success is not recorded here: ``(message, handler,
    duration in ms)`` is appended for the caller to record with the rest of its batch
    (``batch.outbox_deliver_many``); a failure is recorded at once all the same."""
    handler = handler_get(message.kind)
    started = time.monotonic()
    error: str | None = None
    permanent = False
    retry_after: float | None = None
    try:
        if handler is None:
            # A worker of an older release may not know a new kind; a newer one will.
            raise DeliveryError(f"no handler for kind {message.kind!r} in this worker")
        handler.deliver(message)
    except DeliveryError as exc:
        error, permanent = str(exc) or type(exc).__name__, exc.permanent
        retry_after = exc.retry_after
    except Exception as exc:
        log.exception("outbox: delivering %s %s failed", message.kind, message.pk)
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    if error is None:
        assert handler is not None
        if sent_later is not None:
            sent_later.append((message, handler, duration_ms))
            return MessageStatus.SENT
        return _mark_sent(message, handler, duration_ms)
    return _mark_failed(message, error[:ERROR_MAX], permanent, duration_ms, retry_after=retry_after)


def sent_changes(now: Any) -> dict[str, Any]:
    """The columns of a row whose message the provider took at ``now``."""
    return {
        "status": MessageStatus.SENT,
        "sent_at": now,
        "lease_until": None,
        "last_error": "",
        "updated_at": now,
    }


def _mark_sent(message: OutboxMessage, handler: Handler, duration_ms: int) -> str:
    """Record the delivery. Whatever became of the row meanwhile (a worker that took over an
    expired lease may have moved it on), the provider took the message: it is ``sent``."""
    now = timezone.now()
    changes = sent_changes(now)
    if message.sensitive:
        changes["payload"] = {
            k: v for k, v in message.payload.items() if k in handler.keep_when_sent
        }
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=message.pk).exclude(status=MessageStatus.SENT).update(
            **changes
        )
        OutboxAttempt.objects.create(
            message_id=message.pk,
            number=message.attempts,
            outcome=AttemptOutcome.SENT,
            duration_ms=duration_ms,
            created_at=now,
        )
    return MessageStatus.SENT


def backoff_delay(*, attempt: int) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1 for the first).

    ``PAWFILE_OUTBOX_BACKOFF`` seconds doubled for each attempt, at most ``BACKOFF_CAP``,
    with "equal jitter" (between half and all of it), so that messages failing together
    (a mail server down) do not all come back in the same second.
    """
    seconds = settings.PAWFILE_OUTBOX_BACKOFF * 2 ** max(attempt - 1, 0)
    seconds = min(seconds, BACKOFF_CAP.total_seconds())
    return timedelta(seconds=seconds / 2 + random.uniform(0, seconds / 2))


def retry_delay(*, attempt: int, retry_after: float | None = None) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` when the provider may have
    said when to come back (``retry_after`` seconds, from its ``Retry-After``).

    Without it, :func:`backoff_delay`. With it, the longer of the two, so the next attempt
    is never earlier than the provider asked; when the provider's wait is the longer one,
    up to a tenth more (at most 30 s) is added at random, so that the messages one 429
    turned away do not all come back in the same second. Never more than ``BACKOFF_CAP``:
    a provider asking for a day would otherwise hold a reminder past any use (the attempt
    at the cap may meet another 429, and is counted like any other).
    """
    backoff = backoff_delay(attempt=attempt)
    if retry_after is None or retry_after <= 0:
        return backoff
    asked = timedelta(seconds=retry_after + random.uniform(0, min(retry_after / 10, 30)))
    return min(max(backoff, asked), BACKOFF_CAP)


def _mark_failed(
    message: OutboxMessage,
    error: str,
    permanent: bool,
    duration_ms: int,
    *,
    retry_after: float | None = None,
) -> str:
    """Schedule the next attempt (see :func:`retry_delay`), or fail the message when
    permanent or out of attempts.

    Only while the row is still ours (``sending`` with our attempt number): if our lease ran
    out and another worker took the row, its outcome is the one that counts.
    """
    now = timezone.now()
    out_of_attempts = message.attempts >= settings.PAWFILE_OUTBOX_MAX_ATTEMPTS
    changes: dict[str, Any] = {"lease_until": None, "last_error": error, "updated_at": now}
    if permanent or out_of_attempts:
        changes["status"] = status = MessageStatus.FAILED
        outcome = AttemptOutcome.FAILED
    else:
        changes["status"] = status = MessageStatus.PENDING
        changes["next_attempt_at"] = now + retry_delay(
            attempt=message.attempts, retry_after=retry_after
        )
        outcome = AttemptOutcome.RETRY
    with transaction.atomic():
        OutboxMessage.objects.filter(
            pk=message.pk, status=MessageStatus.SENDING, attempts=message.attempts
        ).update(**changes)
        OutboxAttempt.objects.create(
            message_id=message.pk,
            number=message.attempts,
            outcome=outcome,
            error=error,
            duration_ms=duration_ms,
            created_at=now,
        )
    return status


# --- Sweep, retry, purge -----------------------------------------------------------------------


def outbox_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Enqueue every message that should be delivered and has no task on its way.

    That is: expired leases (their worker died or hung), retries that are due, and new rows
    older than ``FRESH_GRACE`` whose own task never claimed them. An expired lease with no
    attempts left becomes ``failed`` instead (a message that kills its worker every time is
    not tried forever). At most ``limit`` of each kind per run, oldest first. Enqueueing a
    row twice is harmless: only one task can claim it. Returns how many were enqueued.
    """
    from pawfile.outbox.tasks import outbox_deliver

    now = now or timezone.now()
    _lost_and_exhausted_fail(now=now, limit=limit)
    pending = OutboxMessage.objects.filter(status=MessageStatus.PENDING)
    retries = pending.filter(attempts__gt=0, next_attempt_at__lte=now)
    fresh = pending.filter(attempts=0, next_attempt_at__lte=now - FRESH_GRACE)
    expired = OutboxMessage.objects.filter(status=MessageStatus.SENDING, lease_until__lte=now)
    ids: list[int] = []
    for rows, order in (
        (retries, "next_attempt_at"),
        (fresh, "next_attempt_at"),
        (expired, "lease_until"),
    ):
        ids += rows.order_by(order).values_list("pk", flat=True)[:limit]
    for message_id in dict.fromkeys(ids):
        outbox_deliver(message_id)
    return len(set(ids))


def _lost_and_exhausted_fail(*, now: datetime, limit: int) -> None:
    stuck = OutboxMessage.objects.filter(
        status=MessageStatus.SENDING,
        lease_until__lte=now,
        attempts__gte=settings.PAWFILE_OUTBOX_MAX_ATTEMPTS,
    ).values_list("pk", "attempts")[:limit]
    for message_id, attempts in stuck:
        with transaction.atomic():
            failed = OutboxMessage.objects.filter(
                pk=message_id, status=MessageStatus.SENDING, attempts=attempts
            ).update(
                status=MessageStatus.FAILED,
                lease_until=None,
                last_error=LOST_ERROR,
                updated_at=now,
            )
            if failed:
                OutboxAttempt.objects.create(
                    message_id=message_id,
                    number=attempts,
                    outcome=AttemptOutcome.LOST,
                    error=LOST_ERROR,
                    created_at=now,
                )


def outbox_retry(*, message_ids: Iterable[int]) -> int:
    """Give failed messages a fresh series of attempts and enqueue them after commit.

    Messages in any other status are left alone. Returns how many were put back.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=list(message_ids), status=MessageStatus.FAILED)
            .values_list("pk", flat=True)
        )
        OutboxMessage.objects.filter(pk__in=ids).update(
            status=MessageStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            updated_at=now,
        )
        for message_id in ids:
            enqueue_on_commit(_deliver_soon, message_id)
    return len(ids)


def outbox_purge(*, now: datetime | None = None) -> int:
    """Delete sent and failed messages, with their attempts, untouched for
    ``PAWFILE_OUTBOX_KEEP_DAYS``; returns how many messages went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PAWFILE_OUTBOX_KEEP_DAYS)
    old = OutboxMessage.objects.filter(
        status__in=(MessageStatus.SENT, MessageStatus.FAILED), updated_at__lt=cutoff
    )
    total = 0
    while ids := list(old.values_list("pk", flat=True)[:PURGE_BATCH]):
        OutboxAttempt.objects.filter(message_id__in=ids).delete()
        total += (
            OutboxMessage.objects.filter(pk__in=ids).delete()[1].get(OutboxMessage._meta.label, 0)
        )
    return total
