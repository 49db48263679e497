"""``notification_send`` for many events at once: the same rows, in a few statements.

``notifications_send_many(requests)`` does for each request what
``services.notification_send`` does (read that first: event keys, routing, quiet hours and
digest, outbox keys, inbox revision), in the caller's transaction, with a fixed number of
queries for the whole batch instead of about twenty per recipient:

1. one read of the notifications that exist already for these (recipient, event key)
   pairs: a request whose notification exists sends nothing (idempotent, as one by one);
2. routing for every recipient at once: who each enabled channel reaches (one query per
   channel that needs one, see ``_reached``), the preferences turned off, the blocked
   channels, the recipients' quiet hours and digest choice (``RecipientState``);
3. one INSERT of the notifications, one of their deliveries (``insert_rows``: plain tuples
   into hand-written multi-row statements, ids read back with ``RETURNING``; building
   and compiling a model instance per row cost more than the rest), one of the outbox rows
   (``outbox.batch.outbox_enqueue_many``, whose ids are queued after commit in a few
   tasks), one UPDATE of the inbox revisions (once per recipient, not per notification).

Each INSERT runs in a savepoint. If a unique key stops it (another process sent one of
these events between the read in step 1 and the INSERT), the batch is rolled back to that
savepoint and every request goes through ``notification_send`` one by one, which handles
the duplicate as it always has. The result is the same rows either way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from pawfile.accounts.models import User
from pawfile.lib import sqlrows
from pawfile.lib.rowsinsert import insert_rows
from pawfile.notifications import channels, services
from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import (
    AppriseTarget,
    ChannelBlock,
    Delivery,
    Device,
    Notification,
    Preference,
    RecipientState,
)
from pawfile.outbox.batch import NewMessage, outbox_enqueue_many


@dataclass(frozen=True)
class SendRequest:
    """The arguments of one ``notification_send`` call."""

    recipient: User
    kind: str
    title: str
    body: str
    event_key: str
    link: str = ""
    actor: User | None = None
    pet: Any = None
    channels: tuple[str, ...] | None = None


# Who a channel reaches, for many users in one query: the same rule as the channel's own
# ``reaches(user)`` (``devices.has_webpush``/``has_mobile``, an Apprise target, an email
# address); keep them in step. A channel without an entry here is asked user by user.
def _with_email(users: Sequence[User]) -> set[int]:
    return {u.pk for u in users if u.email}


def _with_webpush(users: Sequence[User]) -> set[int]:
    rows = Device.objects.filter(user_id__in=[u.pk for u in users]).exclude(p256dh="")
    return set(rows.values_list("user_id", flat=True).distinct())


def _with_mobile(users: Sequence[User]) -> set[int]:
    rows = Device.objects.filter(user_id__in=[u.pk for u in users], p256dh="")
    return set(rows.values_list("user_id", flat=True).distinct())


def _with_apprise(users: Sequence[User]) -> set[int]:
    rows = AppriseTarget.objects.filter(user_id__in=[u.pk for u in users])
    return set(rows.values_list("user_id", flat=True).distinct())


REACHED: dict[str, Callable[[Sequence[User]], set[int]]] = {
    channels.INAPP: lambda users: {u.pk for u in users},
    channels.EMAIL: _with_email,
    "webpush": _with_webpush,
    "fcm": _with_mobile,
    "apprise": _with_apprise,
}


def _reached(users: Sequence[User]) -> dict[str, set[int]]:
    """For each enabled channel, the ids of ``users`` it can reach."""
    found: dict[str, set[int]] = {}
    for channel in channels.channels_enabled():
        bulk = REACHED.get(channel.name)
        if bulk is not None:
            found[channel.name] = bulk(users)
        else:
            found[channel.name] = {u.pk for u in users if channel.reaches(u)}
    return found


@dataclass
class _Plan:
    request: SendRequest
    routes: list[str]
    hold: dt.datetime | None = None


def notifications_send_many(requests: Sequence[SendRequest]) -> list[int]:
    """Send every request as ``notification_send`` would, inside the caller's transaction;
    see the module docstring. Returns the ids of the notifications created (requests whose
    event was sent before, or that reach nobody, add none). A request repeated in ``requests`` (same
    recipient and key) counts once. Raises ``ValueError`` for an empty or overlong event key.
    """
    for request in requests:
        if not request.event_key or len(request.event_key) > services.EVENT_KEY_MAX:
            raise ValueError(f"event keys are 1 to {services.EVENT_KEY_MAX} characters")
    if not requests:
        return []
    try:
        with transaction.atomic():
            return _send_many(requests)
    except IntegrityError:
        pass  # someone sent one of these meanwhile: one by one, which copes with that
    before = set(
        Notification.objects.filter(
            recipient_id__in={r.recipient.pk for r in requests},
            event_key__in={r.event_key for r in requests},
        ).values_list("pk", flat=True)
    )
    made: dict[int, None] = {}
    for request in requests:
        found = services.notification_send(
            recipient=request.recipient, kind=request.kind, title=request.title,
            body=request.body, link=request.link, actor=request.actor, pet=request.pet,
            event_key=request.event_key, channels=request.channels,
        )  # fmt: skip
        if found is not None and found.pk not in before:
            made[found.pk] = None
    return list(made)


def _send_many(requests: Sequence[SendRequest]) -> list[int]:
    if not connection.features.can_return_rows_from_bulk_insert:
        raise IntegrityError("no ids from a bulk insert here: one by one")
    plans = _plans(requests)
    if not plans:
        return []
    now = timezone.now()
    users = {p.request.recipient.pk: p.request.recipient for p in plans}
    states = _states(list(users))
    rows = []
    for plan in plans:
        if any(name != channels.INAPP for name in plan.routes):
            who = plan.request.recipient
            plan.hold = services.release_at(recipient=who, state=states[who.pk], now=now)
        r = plan.request
        rows.append((
            r.recipient.pk, r.kind, str(r.title)[:200], str(r.body), r.link,
            r.actor.pk if r.actor is not None else None, _pk(r.pet), r.event_key,
            channels.INAPP in plan.routes, now, None,
        ))  # fmt: skip
    found = insert_rows(
        Notification, NOTIFICATION_FIELDS, rows, returning=("recipient", "event_key")
    )
    deliveries: list[tuple[Any, ...]] = []
    outbox: list[NewMessage] = []
    for plan in plans:
        r = plan.request
        notification_id = found[(r.recipient.pk, r.event_key)]
        for name in plan.routes:
            if name == channels.INAPP:
                continue
            if plan.hold is not None:
                deliveries.append(
                    (notification_id, name, DeliveryStatus.HELD, plan.hold, "", "", "", now, None)
                )
                continue
            key = services._outbox_key(name, r.recipient.pk, r.event_key)
            deliveries.append(
                (notification_id, name, DeliveryStatus.QUEUED, None, key, "", "", now, None)
            )
    delivery_ids = insert_rows(
        Delivery, DELIVERY_FIELDS, deliveries, returning=("notification", "channel")
    )
    for row in deliveries:
        if row[2] == DeliveryStatus.QUEUED:
            outbox.append(NewMessage(
                kind=f"notify.{row[1]}", key=row[4],
                payload={"deliveries": [delivery_ids[(row[0], row[1])]]}, sensitive=False,
            ))  # fmt: skip
    outbox_enqueue_many(outbox)
    _revisions_bump({p.request.recipient.pk for p in plans if channels.INAPP in p.routes})
    return list(found.values())


def _pk(instance: Any) -> Any:
    return instance.pk if instance is not None else None


# The columns ``_send_many`` writes, every field of the model but the id, in this order.
NOTIFICATION_FIELDS = (
    "recipient", "kind", "title", "body", "link", "actor", "pet", "event_key", "in_inbox",
    "created_at", "read_at",
)  # fmt: skip
DELIVERY_FIELDS = (
    "notification", "channel", "status", "release_at", "outbox_key", "provider_id", "error",
    "created_at", "sent_at",
)  # fmt: skip


def _plans(requests: Sequence[SendRequest]) -> list[_Plan]:
    """Each request still to send with the channels it goes out on (``routes_for``, then
    the request's own narrowing); requests already sent, repeated or reaching nobody are
    left out."""
    sent = sent_pairs({(r.recipient.pk, r.event_key) for r in requests})
    fresh: list[SendRequest] = []
    for request in requests:
        pair = (request.recipient.pk, request.event_key)
        if pair not in sent:
            sent.add(pair)
            fresh.append(request)
    if not fresh:
        return []
    users = list({r.recipient.pk: r.recipient for r in fresh}.values())
    reached = _reached(users)
    off = set(
        Preference.objects.filter(
            user_id__in=[u.pk for u in users], enabled=False,
            kind__in={_row_kind(r.kind) for r in fresh},
        ).values_list("user_id", "kind", "channel")
    )  # fmt: skip
    blocked = set(
        ChannelBlock.objects.filter(user_id__in=[u.pk for u in users]).values_list(
            "user_id", "channel"
        )
    )
    enabled = [c.name for c in channels.channels_enabled()]
    plans = []
    for request in fresh:
        uid, kind = request.recipient.pk, _row_kind(request.kind)
        routes = [
            name
            for name in enabled
            if uid in reached[name] and (uid, kind, name) not in off and (uid, name) not in blocked
        ]
        if request.channels is not None:
            wanted = set(request.channels)
            routes = [name for name in routes if name in wanted]
        if routes:
            plans.append(_Plan(request=request, routes=routes))
    return plans


def sent_pairs(pairs: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of ``pairs`` (recipient id, event key) have a notification already.

    On PostgreSQL one probe of the ``notification_event`` unique index per pair (a LATERAL
    subquery with ``LIMIT 1``, which the planner cannot turn into a hash join): the cost
    stays the same however many notifications the table holds. Two ``IN`` lists (recipients,
    keys) instead make PostgreSQL read the whole table once the lists are long, and a burst
    of reminders writes the table as it reads it: the tick cost grew with the size of the
    burst. Elsewhere (SQLite, which probes the index for each list value), the ``IN`` lists."""
    if not pairs:
        return set()
    if connection.vendor != "postgresql":
        rows = Notification.objects.filter(
            recipient_id__in={p[0] for p in pairs}, event_key__in={p[1] for p in pairs}
        ).values_list("recipient_id", "event_key")
        return {row for row in rows if row in pairs}
    table = sqlrows.table(Notification)
    recipient, key = (
        sqlrows.name(Notification, "recipient"),
        sqlrows.name(Notification, "event_key"),
    )
    sql = (
        "SELECT v.r, v.k FROM unnest(%s::bigint[], %s::text[]) AS v(r, k) "  # noqa: S608 - names from the model
        f"CROSS JOIN LATERAL (SELECT 1 FROM {table} AS n WHERE n.{recipient} = v.r "
        f"AND n.{key} = v.k LIMIT 1) AS found"
    )
    ordered = list(pairs)
    with connection.cursor() as cursor:
        cursor.execute(sql, [[p[0] for p in ordered], [p[1] for p in ordered]])
        return {(r, k) for r, k in cursor.fetchall()}


_KINDS = frozenset(Kind.values)


def _row_kind(kind: str) -> str:
    """The kind a preference row is stored under (``routes_for``'s rule)."""
    return kind if kind in _KINDS else Kind.OTHER


def _states(user_ids: list[int]) -> dict[int, RecipientState]:
    """Every recipient's ``RecipientState``, made where missing (as ``_state`` does)."""
    states = {s.user_id: s for s in RecipientState.objects.filter(user_id__in=user_ids)}
    missing = [uid for uid in user_ids if uid not in states]
    if missing:
        RecipientState.objects.bulk_create(
            [RecipientState(user_id=uid) for uid in missing], ignore_conflicts=True
        )
        states.update((s.user_id, s) for s in RecipientState.objects.filter(user_id__in=missing))
    return states


def _revisions_bump(user_ids: set[int]) -> None:
    """``services.revision_bump`` for many recipients: one UPDATE, and after commit one read
    and one ``set_many`` of the shared cache."""
    if not user_ids:
        return
    ids = sorted(user_ids)
    RecipientState.objects.filter(user_id__in=ids).update(revision=F("revision") + 1)
    from django.conf import settings

    if settings.NOTIFY_REVISION_CACHE:

        def publish() -> None:
            rows = RecipientState.objects.filter(user_id__in=ids).values_list("user_id", "revision")
            cache.set_many(
                {services.revision_cache_key(uid): rev for uid, rev in rows},
                services.REVISION_TTL,
            )

        transaction.on_commit(publish)
