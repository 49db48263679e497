"""Background work behind one small interface, so the engine (Huey today) can be swapped.

Rules: a task takes ids, never model instances; it is idempotent; it is enqueued only after
the transaction that created its rows commits (``enqueue_on_commit``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

# crontab (schedules for periodic_task) is re-exported so no app imports huey itself.
__all__ = ["HUEY", "crontab", "enqueue_on_commit", "periodic_task", "queue_depth", "task"]


def task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a background task (``retries``, ``retry_delay``, ``priority`` ...)."""
    return db_task(**options)


def periodic_task(
    schedule: Callable[..., bool], **options: Any
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a task the scheduler runs when ``schedule(datetime)`` is true (e.g. ``crontab``)."""
    return db_periodic_task(schedule, **options)


def enqueue_on_commit(task_fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Enqueue ``task_fn(*args, **kwargs)`` once the current transaction commits.

    Outside a transaction it is enqueued at once. If the transaction rolls back, nothing is
    enqueued, so a worker never sees ids of rows that do not exist.
    """
    transaction.on_commit(lambda: task_fn(*args, **kwargs))


def queue_depth() -> int:
    """How many tasks wait in the queue (0 in immediate mode)."""
    return int(HUEY.pending_count())
