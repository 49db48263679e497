"""Background tasks of the outbox. Thin: they take ids and call a service.

None of them is retried by the queue: a failed delivery is rescheduled through its row.
"""

from __future__ import annotations

from pawfile.lib.tasks import crontab, periodic_task, task
from pawfile.outbox import batch, services


@task()
def outbox_deliver(message_id: int) -> str | None:
    """Deliver one outbox message (see ``services.outbox_deliver``)."""
    return services.outbox_deliver(message_id=message_id)


@task()
def outbox_deliver_many(message_ids: list[int]) -> dict[str, int]:
    """Deliver several outbox messages over one SMTP connection (see ``batch``)."""
    return batch.outbox_deliver_many(message_ids=message_ids)


@periodic_task(crontab())
def outbox_sweep() -> int:
    """Every minute: enqueue due retries, expired leases and rows whose task was lost."""
    return services.outbox_sweep()


@periodic_task(crontab(minute="23", hour="4"))
def outbox_purge() -> int:
    """Daily: delete sent and failed messages older than ``PAWFILE_OUTBOX_KEEP_DAYS``."""
    return services.outbox_purge()
