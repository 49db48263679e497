"""What health tells the apps above it when a record changes, without knowing them.

``record_changed`` is a Django signal sent by ``health.services`` (never by a model's
``save``) after a record is created or changed, and before it is deleted, inside the
transaction that does it, with ``record``, ``created`` and ``deleted`` (bools). Receivers
(the reminders app follows vaccination and deworming due dates and medication schedules)
connect from their ``AppConfig.ready`` with ``record_changed_connect``, naming the kinds of
record they follow, and write in the same transaction: if a receiver raises, the record's
change is rolled back with it.

The kinds matter for speed: a new record of a kind nobody follows (a weight, the most
frequent write) keeps its one-statement insert on PostgreSQL, with no transaction around it
(``health.services.record_create``) and no receiver's query. A receiver may also say, with
``when_created``, which new records it has something to do for (reminders: a vaccination
with a next due date, not one without); a new record none of them wants is written the same
way, and they are not called for it. Changes and deletions always reach every receiver of
the kind (a changed record may have something of theirs to move or remove).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.dispatch import Signal

record_changed = Signal()


@dataclass(frozen=True)
class _Follower:
    kinds: frozenset[str]
    # For a record just created: does the receiver have anything to do? None: always.
    when_created: Callable[[Any], bool] | None

    def wants(self, record: Any, *, created: bool) -> bool:
        if record.kind not in self.kinds:
            return False
        return not created or self.when_created is None or bool(self.when_created(record))


# dispatch uid -> what its receiver follows.
_followed: dict[str, _Follower] = {}


def record_changed_connect(
    receiver: Callable[..., Any],
    *,
    kinds: Iterable[str],
    dispatch_uid: str,
    when_created: Callable[[Any], bool] | None = None,
) -> None:
    """Call ``receiver(sender, record=..., created=..., deleted=...)`` when a record of
    ``kinds`` changes. With ``when_created``, a new record reaches ``receiver`` only when
    ``when_created(record)`` is true: the receiver promises it would do nothing otherwise
    (no write, no refusal), so the record's insert may skip the transaction it needs."""
    follower = _Follower(frozenset(str(kind) for kind in kinds), when_created)

    def heard(sender: Any, *, record: Any, created: bool = False, **kwargs: Any) -> None:
        if follower.wants(record, created=created):
            receiver(sender, record=record, created=created, **kwargs)

    _followed[dispatch_uid] = follower
    record_changed.connect(heard, dispatch_uid=dispatch_uid, weak=False)


def record_changed_send(record: Any, *, created: bool = False, deleted: bool = False) -> None:
    """Tell the receivers ``record`` was created or changed (or is about to be deleted)."""
    if record_changed_heard(record, created=created):
        record_changed.send(sender=type(record), record=record, created=created, deleted=deleted)


def record_changed_heard(record: Any, *, created: bool = False) -> bool:
    """True when an app has something to do for this change of ``record`` (so the write
    needs a transaction around it and the receivers' work)."""
    return any(f.wants(record, created=created) for f in _followed.values())
