"""The outbox in bulk: many rows written with one INSERT, many claimed with one UPDATE.

For producers that make thousands of messages at once (the reminders' tick): the same rows,
keys, leases and outcomes as ``services.outbox_enqueue`` / ``services.outbox_deliver``, with
fewer round trips.

- ``outbox_enqueue_many`` INSERTs all rows in one statement, in a savepoint. If any key is
  taken already, the savepoint is rolled back and each row goes through ``outbox_enqueue``
  (which returns the existing row and enqueues nothing): one key, one message, as always.
  After commit, the new ids are handed to the queue ``TASK_IDS`` per task.
- ``outbox_deliver_many`` (the task ``outbox_deliver_many``) claims the rows it was given with
  one conditional UPDATE (``pending`` and due; ``RETURNING`` names the rows it took), then
  delivers them one after the other inside ``mail.smtp_session()`` (one SMTP connection for
  all the mail among them), recording each outcome in its own transaction right after its
  send, exactly as ``outbox_deliver`` does. So the window in which a killed worker causes a
  duplicate is the same as for one message (see ``docs/architecture.md``, Outbox): a worker
  killed mid-batch leaves the rows it had not finished ``sending`` under its lease; the
  sweeper re-enqueues them when the lease expires. Ids the UPDATE did not take (an expired
  lease to take over, a row already sent) go through ``outbox_deliver`` one by one, which
  knows those cases.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from pawfile.lib.tasks import enqueue_on_commit
from pawfile.outbox import mail, services
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.handlers import handler_get
from pawfile.outbox.models import OutboxMessage

log = logging.getLogger(__name__)

# Ids per queue task: enough to keep one SMTP connection busy, few enough that two workers
# share a burst evenly and a crashed worker strands little under its lease.
TASK_IDS = 25


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
    rows = [
        OutboxMessage(
            key=m.key,
            kind=m.kind,
            payload=m.payload,
            sensitive=m.sensitive,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        for m in messages
    ]
    if connection.features.can_return_rows_from_bulk_insert:
        try:
            with transaction.atomic():
                OutboxMessage.objects.bulk_create(rows)
        except IntegrityError:
            pass  # a key was taken before: one by one below, as outbox_enqueue does
        else:
            ids = [row.pk for row in rows]
            for start in range(0, len(ids), TASK_IDS):
                enqueue_on_commit(_deliver_many_soon, ids[start : start + TASK_IDS])
            return {row.key: row.pk for row in rows}
    found: dict[str, int] = {}
    for m in messages:
        row = services.outbox_enqueue(
            kind=m.kind, key=m.key, payload=m.payload, sensitive=m.sensitive
        )
        found[m.key] = row.pk
    return found


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
    marks = ", ".join(["%s"] * len(message_ids))
    # Django's update() does not say which rows it changed; RETURNING does (PostgreSQL, and
    # SQLite since 3.35).
    sql = (
        f"UPDATE {table} SET status = %s, lease_until = %s, attempts = attempts + 1, "  # noqa: S608 - names from the model
        f"updated_at = %s WHERE id IN ({marks}) AND status = %s AND next_attempt_at <= %s "
        "RETURNING id"
    )
    lease_until = ops.adapt_datetimefield_value(now + services._lease())
    at = ops.adapt_datetimefield_value(now)
    params = [MessageStatus.SENDING, lease_until, at, *message_ids, MessageStatus.PENDING, at]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def outbox_deliver_many(*, message_ids: Sequence[int]) -> dict[str, int]:
    """Deliver several messages: claim them in one statement, send them over one SMTP
    connection (see the module docstring), record each outcome right after its send.

    Returns how many ended in each status (``sent``, ``pending``, ``failed``; ``None``
    outcomes, rows not ours to send, are counted as ``skipped``). Never raises for a
    failed delivery.
    """
    ids = list(dict.fromkeys(int(i) for i in message_ids))
    claimed = outbox_claim_many(message_ids=ids)
    outcomes: dict[str, int] = {}
    by_id = {m.pk: m for m in OutboxMessage.objects.filter(pk__in=claimed)}
    with mail.smtp_session():
        for message_id in claimed:
            message = by_id.get(message_id)
            status = services.outbox_attempt(message) if message is not None else None
            outcomes[status or "skipped"] = outcomes.get(status or "skipped", 0) + 1
            if status not in (MessageStatus.SENT, None):
                mail.smtp_session_reset()  # the connection may be broken: a fresh one next
    for message_id in ids:
        if message_id not in by_id:
            # Not pending: maybe an expired lease to take over, maybe sent already.
            status = services.outbox_deliver(message_id=message_id)
            outcomes[status or "skipped"] = outcomes.get(status or "skipped", 0) + 1
    return outcomes
