"""The outbox in bulk: many rows written with one INSERT, many claimed with one UPDATE.

For producers that make thousands of messages at once (the reminders' tick): the same rows,
keys, leases and outcomes as ``services.outbox_enqueue`` / ``services.outbox_deliver``, with
fewer round trips.

- ``outbox_enqueue_many`` INSERTs all rows in one statement (``lib.rowsinsert``: plain
  tuples, no model instance per row), in a savepoint. If any key is taken already, the
  savepoint is rolled back and each row goes through ``outbox_enqueue`` (which returns the
  existing row and enqueues nothing): one key, one message, as always.
  After commit, the new ids are handed to the queue ``TASK_IDS`` per task.
- ``outbox_deliver_many`` (the task ``outbox_deliver_many``) claims the rows it was given with
  one conditional UPDATE (``pending`` and due; ``RETURNING`` names the rows it took), reads
  them in one query, lets each kind's handler ``prepare`` its messages at once (the email
  channel reads every recipient, notification, block and preference of the batch in three
  queries), then delivers them one after the other inside ``mail.smtp_session()`` (one SMTP
  connection for all the mail among them, two round trips a mail where the server offers
  ``PIPELINING``: ``pipelining``). A failure is recorded right after its attempt, as
  ``outbox_deliver`` does; the successes are recorded together when the batch ends: one
  transaction with one UPDATE of the rows to ``sent``, one INSERT of their attempts, and the
  writes handlers deferred with :func:`after_batch` (the email channel's ``Delivery`` rows).
  So the duplicate window (see ``docs/architecture.md``, Outbox) is the batch: a worker
  killed mid-batch leaves every row of it ``sending`` under its lease, including the ones
  whose mail the server had taken already, and the sweeper re-enqueues them when the lease
  expires; each such mail is sent again, with the same ``Message-ID`` (at most
  ``TASK_IDS`` mails). Ids the UPDATE did not take (an expired lease to take over, a row
  already sent) go through ``outbox_deliver`` one by one, which knows those cases.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from pawfile.lib.rowsinsert import insert_rows
from pawfile.lib.tasks import enqueue_on_commit
from pawfile.outbox import mail, services
from pawfile.outbox.choices import AttemptOutcome, MessageStatus
from pawfile.outbox.handlers import Handler, handler_get
from pawfile.outbox.models import OutboxAttempt, OutboxMessage

log = logging.getLogger(__name__)

# Ids per queue task: enough that a batch's fixed cost (queue round trip, claim, reads, the
# recording transaction, the SMTP connection) is small per mail, few enough that two
# workers share a burst evenly and a crashed worker strands little under its lease. It is
# also the most mails a worker killed mid-batch can send twice (the duplicate window).
TASK_IDS = 100


@dataclass(frozen=True)
class NewMessage:
    """One row for ``outbox_enqueue_many`` (the arguments of ``outbox_enqueue``)."""

    kind: str
    key: str
    payload: dict[str, Any]
    sensitive: bool = True


def outbox_enqueue_many(messages: Sequence[NewMessage]) -> dict[str, int]:
    """Write ``messages`` in the caller's transaction; deliver them after commit.

    Returns ``{key: row id}`` for every message (an existing row's id when its key was used
    before; that row is not enqueued again). Raises ``ValueError`` as ``outbox_enqueue`` does
    (a kind without a handler, an empty or overlong key, a key twice in ``messages``).
    """
    keys = [m.key for m in messages]
    if len(set(keys)) != len(keys):
        raise ValueError("outbox_enqueue_many got the same key twice")
    for message in messages:
        if handler_get(message.kind) is None:
            raise ValueError(f"no outbox handler for kind {message.kind!r}")
        if not message.key or len(message.key) > services.KEY_MAX:
            raise ValueError(f"outbox keys are 1 to {services.KEY_MAX} characters")
    if not messages:
        return {}
    now = timezone.now()
    pending = MessageStatus.PENDING
    rows = [
        (m.key, m.kind, m.payload, m.sensitive, pending, 0, now, None, "", now, now, None)
        for m in messages
    ]
    if connection.features.can_return_rows_from_bulk_insert:
        try:
            with transaction.atomic():
                made = insert_rows(OutboxMessage, NEW_FIELDS, rows, returning=("key",))
        except IntegrityError:
            pass  # a key was taken before: one by one below, as outbox_enqueue does
        else:
            ids = [made[(m.key,)] for m in messages]
            for start in range(0, len(ids), TASK_IDS):
                enqueue_on_commit(_deliver_many_soon, ids[start : start + TASK_IDS])
            return {m.key: made[(m.key,)] for m in messages}
    found: dict[str, int] = {}
    for m in messages:
        row = services.outbox_enqueue(
            kind=m.kind, key=m.key, payload=m.payload, sensitive=m.sensitive
        )
        found[m.key] = row.pk
    return found


# The columns ``outbox_enqueue_many`` writes: every field but the id (the model's defaults
# are Python's, not the database's), in this order.
NEW_FIELDS = (
    "key", "kind", "payload", "sensitive", "status", "attempts", "next_attempt_at",
    "lease_until", "last_error", "created_at", "updated_at", "sent_at",
)  # fmt: skip


def _deliver_many_soon(message_ids: list[int]) -> None:
    """Enqueue one task for these rows; if the broker cannot take it, the sweeper will."""
    from pawfile.outbox.tasks import outbox_deliver_many

    try:
        outbox_deliver_many(message_ids)
    except Exception:
        log.warning("outbox: could not enqueue %d messages; the sweeper will", len(message_ids))


def outbox_claim_many(*, message_ids: Sequence[int], now: Any = None) -> list[int]:
    """Take every ``pending`` row among ``message_ids`` whose time has come, with one
    conditional UPDATE (as ``services.outbox_claim`` does for one: ``sending``, leased until
    now + ``PAWFILE_OUTBOX_LEASE``, ``attempts`` + 1). Of workers racing for a row, the
    database lets exactly one update it. Returns the ids taken, in ascending order."""
    if not message_ids:
        return []
    now = now or timezone.now()
    ops = connection.ops
    table = ops.quote_name(OutboxMessage._meta.db_table)
    ids: list[Any]
    if connection.vendor == "postgresql":
        # One array parameter: the same statement text for any number of ids, which the
        # driver converts once and the server prepares once per connection.
        ids, marks = [[int(i) for i in message_ids]], "= ANY(%s::bigint[])"
    else:
        ids, marks = list(message_ids), "IN (" + ", ".join(["%s"] * len(message_ids)) + ")"
    # Django's update() does not say which rows it changed; RETURNING does (PostgreSQL, and
    # SQLite since 3.35).
    sql = (
        f"UPDATE {table} SET status = %s, lease_until = %s, attempts = attempts + 1, "  # noqa: S608 - names from the model
        f"updated_at = %s WHERE id {marks} AND status = %s AND next_attempt_at <= %s "
        "RETURNING id"
    )
    lease_until = ops.adapt_datetimefield_value(now + services._lease())
    at = ops.adapt_datetimefield_value(now)
    params = [MessageStatus.SENDING, lease_until, at, *ids, MessageStatus.PENDING, at]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


_batch = threading.local()


def after_batch(flush: Callable[[list[Any]], None], item: Any) -> None:
    """Defer a write that records a successful delivery until its batch is recorded.

    Inside :func:`outbox_deliver_many` (in the thread running it), ``item`` is kept and
    ``flush`` runs once when the batch ends, with every item given for it, in the
    transaction that marks the batch's rows ``sent`` (in a savepoint: if it raises, that is
    logged and the rows are still marked). Anywhere else, ``flush([item])`` runs at once.
    ``flush`` should be a module-level function (items are grouped by it)."""
    pending: dict[Callable[[list[Any]], None], list[Any]] | None = getattr(_batch, "pending", None)
    if pending is None:
        flush([item])
    else:
        pending.setdefault(flush, []).append(item)


@contextmanager
def _deferring() -> Iterator[dict[Callable[[list[Any]], None], list[Any]]]:
    outer = getattr(_batch, "pending", None)
    pending: dict[Callable[[list[Any]], None], list[Any]] = {}
    _batch.pending = pending
    try:
        yield pending
    finally:
        _batch.pending = outer


def _prepare(messages: list[OutboxMessage]) -> None:
    """Let each kind's handler read what its messages need at once (see ``handlers``)."""
    by_kind: dict[str, list[OutboxMessage]] = {}
    for message in messages:
        by_kind.setdefault(message.kind, []).append(message)
    for kind, group in by_kind.items():
        handler = handler_get(kind)
        if handler is None or handler.prepare is None:
            continue
        try:
            handler.prepare(group)
        except Exception:
            # Each message is then read on its own by ``deliver``.
            log.exception("outbox: preparing %d %s messages failed", len(group), kind)


def _mark_sent_many(
    sent: list[tuple[OutboxMessage, Handler, int]],
    pending: dict[Callable[[list[Any]], None], list[Any]],
) -> None:
    """Record a batch's successes, as ``services._mark_sent`` does for one, in one
    transaction: one UPDATE per distinct kept payload (one, as a rule), one INSERT of the
    attempts, then the deferred writes (:func:`after_batch`)."""
    if not sent and not pending:
        return
    now = timezone.now()
    changes = services.sent_changes(now)
    keep_all: list[int] = []
    trimmed: list[tuple[dict[str, Any], list[int]]] = []
    for message, handler, _ms in sent:
        if not message.sensitive:
            keep_all.append(message.pk)
            continue
        kept = {k: v for k, v in message.payload.items() if k in handler.keep_when_sent}
        for payload, ids in trimmed:
            if payload == kept:
                ids.append(message.pk)
                break
        else:
            trimmed.append((kept, [message.pk]))
    with transaction.atomic():
        sent_rows = OutboxMessage.objects.exclude(status=MessageStatus.SENT)
        if keep_all:
            sent_rows.filter(pk__in=keep_all).update(**changes)
        for payload, ids in trimmed:
            sent_rows.filter(pk__in=ids).update(**changes, payload=payload)
        insert_rows(
            OutboxAttempt,
            ("message", "number", "outcome", "error", "duration_ms", "created_at"),
            [
                (message.pk, message.attempts, AttemptOutcome.SENT, "", duration_ms, now)
                for message, _handler, duration_ms in sent
            ],
        )
        for flush, items in pending.items():
            try:
                with transaction.atomic():
                    flush(items)
            except Exception:
                log.exception("outbox: recording %d deliveries after a batch failed", len(items))


def outbox_deliver_many(*, message_ids: Sequence[int]) -> dict[str, int]:
    """Deliver several messages: claim them in one statement, prepare them by kind, send
    them over one SMTP connection, record each failure right after its attempt and the
    successes together at the end (see the module docstring).

    Returns how many ended in each status (``sent``, ``pending``, ``failed``; ``None``
    outcomes, rows not ours to send, are counted as ``skipped``). Never raises for a
    failed delivery.
    """
    ids = list(dict.fromkeys(int(i) for i in message_ids))
    claimed = outbox_claim_many(message_ids=ids)
    outcomes: dict[str, int] = {}
    by_id = {m.pk: m for m in OutboxMessage.objects.filter(pk__in=claimed)}
    messages = [by_id[i] for i in claimed if i in by_id]
    _prepare(messages)
    sent: list[tuple[OutboxMessage, Handler, int]] = []
    with mail.smtp_session(), _deferring() as pending:
        try:
            for message in messages:
                status = services.outbox_attempt(message, sent_later=sent)
                outcomes[status] = outcomes.get(status, 0) + 1
                if status != MessageStatus.SENT:
                    mail.smtp_session_reset()  # the connection may be broken: a fresh one next
        finally:
            _mark_sent_many(sent, pending)
    skipped = len(claimed) - len(messages)  # claimed, then gone (deleted meanwhile)
    if skipped:
        outcomes["skipped"] = outcomes.get("skipped", 0) + skipped
    taken = set(claimed)
    for message_id in ids:
        if message_id not in taken:
            # Not pending: maybe an expired lease to take over, maybe sent already.
            alone = services.outbox_deliver(message_id=message_id) or "skipped"
            outcomes[alone] = outcomes.get(alone, 0) + 1
    return outcomes
