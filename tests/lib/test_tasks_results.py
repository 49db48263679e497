"""The queue keeps no task results: nothing reads them, and kept they grow without bound
(a Redis hash or a table of the queue file with one entry per task ever run)."""

from __future__ import annotations

from huey.contrib.djhuey import HUEY

from pawfile.lib.tasks import task


@task()
def _answer() -> int:
    return 42


def test_a_task_that_returns_a_value_leaves_nothing_in_the_queue() -> None:
    size = HUEY.storage.result_store_size()
    handle = _answer()  # queued (or run at once in immediate mode): no result handle
    assert handle is None
    pending = HUEY.dequeue()
    if pending is not None:
        HUEY.execute(pending)
    assert HUEY.storage.result_store_size() == size
