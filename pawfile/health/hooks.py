"""What health tells the apps above it when a record changes, without knowing them.

``record_changed`` is a Django signal sent by ``health.services`` (never by a model's
``save``) after a record is created or changed, and before it is deleted, inside the
transaction that does it, with ``record`` and ``deleted`` (bool). Receivers (the reminders
app follows vaccination and deworming due dates and medication schedules) connect from
their ``AppConfig.ready`` with ``record_changed_connect``, naming the kinds of record they
follow, and write in the same transaction: if a receiver raises, the record's change is
rolled back with it.

The kinds matter for speed: a new record of a kind nobody follows (a weight, the most
frequent write) keeps its one-statement insert on PostgreSQL, with no transaction around it
(``health.services.record_create``) and no receiver's query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.dispatch import Signal

record_changed = Signal()

# dispatch uid -> the kinds of record its receiver follows.
_followed: dict[str, frozenset[str]] = {}


def record_changed_connect(
    receiver: Callable[..., Any], *, kinds: Iterable[str], dispatch_uid: str
) -> None:
    """Call ``receiver(sender, record=..., deleted=...)`` when a record of ``kinds`` changes."""
    followed = frozenset(str(kind) for kind in kinds)

    def heard(sender: Any, *, record: Any, **kwargs: Any) -> None:
        if record.kind in followed:
            receiver(sender, record=record, **kwargs)

    _followed[dispatch_uid] = followed
    record_changed.connect(heard, dispatch_uid=dispatch_uid, weak=False)


def record_changed_send(record: Any, *, deleted: bool = False) -> None:
    """Tell the receivers ``record`` was saved (or is about to be deleted)."""
    if record_changed_heard(record.kind):
        record_changed.send(sender=type(record), record=record, deleted=deleted)


def record_changed_heard(kind: str) -> bool:
    """True when an app follows records of ``kind`` (so the write needs a transaction)."""
    return any(kind in kinds for kinds in _followed.values())
