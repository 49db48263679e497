"""Writes of the notifications app: send, deliver held ones, read, delete, preferences.

``notification_send`` is what other apps call (reminders, pet updates...), inside the
transaction of the change that causes the notification: the notification, its deliveries
and their outbox rows commit together with it or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from pawfile.accounts.models import User
from pawfile.lib.dates import user_zone
from pawfile.lib.errors import NotFound
from pawfile.notifications import channels
from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import (
    ChannelBlock,
    Delivery,
    Notification,
    Preference,
    RecipientState,
)
from pawfile.outbox.services import outbox_enqueue

EVENT_KEY_MAX = 150
OUTBOX_KEY_MAX = 200
# How long the shared cache keeps a recipient's inbox revision (see ``revision_cached``).
REVISION_TTL = 30


def revision_cache_key(user_id: int) -> str:
    return f"notify:rev:{user_id}"


def _outbox_key(channel: str, recipient_id: int, event_key: str) -> str:
    key = f"notify:{channel}:{recipient_id}:{event_key}"
    if len(key) > OUTBOX_KEY_MAX:
        key = f"notify:{channel}:{recipient_id}:#{hashlib.sha256(event_key.encode()).hexdigest()}"
    return key


# --- Routing -----------------------------------------------------------------------------------


def routes_for(*, recipient: User, kind: str) -> list[str]:
    """The channels ``kind`` reaches ``recipient`` on: switched on for the instance, able to
    reach them, not blocked by a permanent error, and not turned off in their preferences."""
    enabled = [c for c in channels.channels_enabled() if c.reaches(recipient)]
    if not enabled:
        return []
    row_kind = kind if kind in Kind.values else Kind.OTHER
    off = set(
        Preference.objects.filter(user=recipient, kind=row_kind, enabled=False).values_list(
            "channel", flat=True
        )
    )
    blocked = set(ChannelBlock.objects.filter(user=recipient).values_list("channel", flat=True))
    return [c.name for c in enabled if c.name not in off and c.name not in blocked]


def _state(user: User) -> RecipientState:
    state, _created = RecipientState.objects.get_or_create(user=user)
    return state


def _local(at: dt.datetime, zone: dt.tzinfo, day: dt.date, time: dt.time) -> dt.datetime:
    """``time`` on ``day`` in ``zone`` as an instant (a time that does not exist that day,
    spring forward, lands after the gap)."""
    naive = dt.datetime.combine(day, time)
    return naive.replace(tzinfo=zone).astimezone(dt.UTC)


def _next_local(now: dt.datetime, zone: dt.tzinfo, time: dt.time) -> dt.datetime:
    """The first instant after ``now`` that is ``time`` on the clock in ``zone``."""
    today = now.astimezone(zone).date()
    for offset in range(3):
        candidate = _local(now, zone, today + dt.timedelta(days=offset), time)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a local time recurs within two days")


def in_quiet_hours(state: RecipientState, *, local: dt.time) -> bool:
    """Whether the local clock time ``local`` is inside the quiet hours (which may span
    midnight: 22:00 to 07:00). Start is inside, end is outside."""
    start, end = state.quiet_start, state.quiet_end
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def release_at(*, recipient: User, state: RecipientState, now: dt.datetime) -> dt.datetime | None:
    """When an outside delivery made ``now`` may go: ``None`` for at once, else the end of
    the quiet hours or the next digest hour (in the recipient's zone), whichever is later."""
    zone = user_zone(recipient)
    hold: dt.datetime | None = None
    if state.digest:
        hold = _next_local(now, zone, dt.time(settings.NOTIFY_DIGEST_HOUR))
    if in_quiet_hours(state, local=now.astimezone(zone).time().replace(tzinfo=None)):
        assert state.quiet_end is not None
        end = _next_local(now, zone, state.quiet_end)
        hold = max(hold, end) if hold else end
    if hold is not None and in_quiet_hours(
        state, local=hold.astimezone(zone).time().replace(tzinfo=None)
    ):
        # A digest hour inside the quiet hours waits for their end.
        assert state.quiet_end is not None
        hold = _next_local(hold, zone, state.quiet_end)
    return hold


# --- Send --------------------------------------------------------------------------------------


def notification_send(
    *,
    recipient: User,
    kind: str,
    title: str,
    body: str,
    link: str = "",
    actor: User | None = None,
    pet: Any = None,
    event_key: str,
    channels: Iterable[str] | None = None,
) -> Notification | None:
    """Notify ``recipient`` of one event, inside the caller's transaction.

    Records the notification (in the inbox unless the recipient turned the kind off there)
    and one delivery per other channel that reaches them (see :func:`routes_for`): an
    outbox message ``notify.<channel>`` under the key (channel, recipient, event_key), or a
    held delivery during their quiet hours or when they chose the daily digest.

    ``event_key`` (at most 150 characters) names the event, e.g. ``reminder:42:2026-12-03``:
    a second call with the same key for the same recipient returns the existing
    notification and sends nothing. ``channels``, when given, narrows the delivery to those
    channel names (a reminder's chosen channels); the recipient's own choices still apply.
    Returns ``None`` when the recipient turned ``kind`` off on every channel (or none
    reaches them). ``title`` is cut to 200 characters. Raises ``ValueError`` for an empty
    or overlong ``event_key``.
    """
    return _send(
        recipient=recipient, kind=kind, title=title, body=body, link=link, actor=actor,
        pet=pet, event_key=event_key, only=channels,
    )  # fmt: skip


def _send(
    *,
    recipient: User,
    kind: str,
    title: str,
    body: str,
    link: str,
    actor: User | None,
    pet: Any,
    event_key: str,
    only: Iterable[str] | None,
) -> Notification | None:
    if not event_key or len(event_key) > EVENT_KEY_MAX:
        raise ValueError(f"event keys are 1 to {EVENT_KEY_MAX} characters")
    existing = Notification.objects.filter(recipient=recipient, event_key=event_key).first()
    if existing is not None:
        return existing
    routes = routes_for(recipient=recipient, kind=kind)
    if only is not None:
        wanted = set(only)
        routes = [name for name in routes if name in wanted]
    if not routes:
        return None
    now = timezone.now()
    in_inbox = channels.INAPP in routes
    with transaction.atomic():
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    recipient=recipient, kind=kind, title=str(title)[:200], body=str(body),
                    link=link, actor=actor, pet=pet, event_key=event_key, in_inbox=in_inbox,
                    created_at=now,
                )  # fmt: skip
        except IntegrityError:
            return Notification.objects.get(recipient=recipient, event_key=event_key)
        state = _state(recipient)
        outside = [name for name in routes if name != channels.INAPP]
        hold = release_at(recipient=recipient, state=state, now=now) if outside else None
        for name in outside:
            _delivery_start(notification, name, hold=hold, now=now)
        if in_inbox:
            revision_bump(user_id=recipient.pk)
    return notification


def _delivery_start(
    notification: Notification, channel: str, *, hold: dt.datetime | None, now: dt.datetime
) -> Delivery:
    if hold is not None:
        return Delivery.objects.create(
            notification=notification, channel=channel, status=DeliveryStatus.HELD,
            release_at=hold, created_at=now,
        )  # fmt: skip
    key = _outbox_key(channel, notification.recipient_id, notification.event_key)
    delivery = Delivery.objects.create(
        notification=notification, channel=channel, status=DeliveryStatus.QUEUED,
        outbox_key=key, created_at=now,
    )  # fmt: skip
    outbox_enqueue(
        kind=f"notify.{channel}", key=key, payload={"deliveries": [delivery.pk]}, sensitive=False
    )
    return delivery


def deliveries_release(*, now: dt.datetime | None = None) -> int:
    """Queue held deliveries whose time came: one outbox message per recipient and channel,
    carrying all of them (quiet hours end with one message, not ten; the digest is one).

    Safe to run on several workers at once: the rows move from ``held`` to ``queued`` with a
    conditional update, and the outbox key names the first of them. Returns how many
    messages were queued.
    """
    now = now or timezone.now()
    due = (
        Delivery.objects.filter(status=DeliveryStatus.HELD, release_at__lte=now)
        .order_by("notification__recipient_id", "channel", "pk")
        .values_list("pk", "notification__recipient_id", "channel")[:5000]
    )
    groups: dict[tuple[int, str], list[int]] = {}
    for pk, recipient_id, channel in due:
        groups.setdefault((recipient_id, channel), []).append(pk)
    queued = 0
    for (recipient_id, channel), ids in groups.items():
        key = f"notify:{channel}:{recipient_id}:batch:{ids[0]}"
        with transaction.atomic():
            taken = Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.HELD).update(
                status=DeliveryStatus.QUEUED, outbox_key=key
            )
            if taken != len(ids):
                transaction.set_rollback(True)  # another worker got some of them first
                continue
            outbox_enqueue(
                kind=f"notify.{channel}", key=key, payload={"deliveries": ids}, sensitive=False
            )
            queued += 1
    return queued


def deliveries_sent(*, ids: list[int], provider_id: str) -> None:
    """Record that the provider took these deliveries (the outbox records the attempt)."""
    Delivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.SENT, provider_id=provider_id[:200], error="", sent_at=timezone.now()
    )


def deliveries_sent_many(sent: list[tuple[list[int], str]]) -> None:
    """:func:`deliveries_sent` for several mails at once, ``(delivery ids, provider id)``
    each: one UPDATE, the provider id chosen per row by a ``CASE`` (written out: the ORM's
    ``Case`` took longer to build than the database to run it)."""
    from django.db import connection

    pairs = [(i, pid[:200]) for ids, pid in sent for i in ids]
    if not pairs:
        return
    table = connection.ops.quote_name(Delivery._meta.db_table)
    whens = " ".join(["WHEN %s THEN %s"] * len(pairs))
    marks = ", ".join(["%s"] * len(pairs))
    sql = (
        f"UPDATE {table} SET status = %s, provider_id = CASE id {whens} END, "  # noqa: S608 - names from the model
        f"error = '', sent_at = %s WHERE id IN ({marks})"
    )
    params: list[Any] = [DeliveryStatus.SENT]
    for i, pid in pairs:
        params += [i, pid]
    params.append(connection.ops.adapt_datetimefield_value(timezone.now()))
    params += [i for i, _pid in pairs]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def deliveries_failed(*, ids: list[int], error: str, permanent: bool) -> None:
    """Record a refused delivery; a permanent refusal blocks the channel for the recipient
    (see :func:`channel_block`)."""
    rows = Delivery.objects.filter(pk__in=ids).select_related("notification__recipient")
    with transaction.atomic():
        first = rows.first()
        rows.update(error=error[:2000], **({"status": DeliveryStatus.FAILED} if permanent else {}))
        if permanent and first is not None:
            channel_block(user=first.notification.recipient, channel=first.channel, reason=error)


def channel_block(*, user: User, channel: str, reason: str) -> None:
    """Turn ``channel`` off for ``user`` after a permanent error and tell them in the inbox."""
    from django.utils.translation import gettext, override

    from pawfile.lib.dates import user_zone_override

    block, created = ChannelBlock.objects.get_or_create(
        user=user, channel=channel, defaults={"reason": reason[:2000]}
    )
    if not created:
        return
    found = channels.channel_get(channel)
    with override(user.locale or None), user_zone_override(user):
        label = str(found.label) if found else channel
        title = gettext("%(channel)s notifications are off") % {"channel": label}
        body = gettext(
            "We could not deliver to you by %(channel)s and turned it off. Check your "
            "details, then turn it on again in your notification settings."
        ) % {"channel": label}
    from django.urls import reverse

    _send(
        recipient=user, kind=Kind.SYSTEM, title=title, body=body,
        link=reverse("notification_settings"), actor=None, pet=None,
        event_key=f"channel-blocked:{channel}:{block.pk}", only=(channels.INAPP,),
    )  # fmt: skip


# --- The inbox ---------------------------------------------------------------------------------


def revision_bump(*, user_id: int) -> None:
    """Mark the recipient's inbox as changed, in the caller's transaction; once it commits,
    the new revision is in the shared cache, where the live poll reads it."""
    RecipientState.objects.get_or_create(user_id=user_id)
    RecipientState.objects.filter(user_id=user_id).update(revision=F("revision") + 1)
    if settings.NOTIFY_REVISION_CACHE:

        def publish() -> None:
            revision = (
                RecipientState.objects.filter(user_id=user_id)
                .values_list("revision", flat=True)
                .first()
            )
            cache.set(revision_cache_key(user_id), revision or 0, REVISION_TTL)

        transaction.on_commit(publish)


def _own(*, user: User, notification_id: int) -> Notification:
    found = Notification.objects.filter(pk=notification_id, recipient=user, in_inbox=True).first()
    if found is None:
        raise NotFound()
    return found


def notification_mark_read(*, user: User, notification_id: int, read: bool = True) -> Notification:
    """Mark one of ``user``'s notifications read (or unread again). ``NotFound`` for
    anyone else's."""
    with transaction.atomic():
        notification = _own(user=user, notification_id=notification_id)
        value = timezone.now() if read else None
        if (notification.read_at is None) == read:
            notification.read_at = value
            notification.save(update_fields=["read_at"])
            revision_bump(user_id=user.pk)
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of ``user`` read; returns how many."""
    with transaction.atomic():
        count = Notification.objects.filter(
            recipient=user, in_inbox=True, read_at__isnull=True
        ).update(read_at=timezone.now())
        if count:
            revision_bump(user_id=user.pk)
    return count


def notification_delete(*, user: User, notification_id: int) -> None:
    """Delete one of ``user``'s notifications (and its delivery records). ``NotFound`` for
    anyone else's."""
    with transaction.atomic():
        _own(user=user, notification_id=notification_id).delete()
        revision_bump(user_id=user.pk)


# --- Preferences -------------------------------------------------------------------------------


def preferences_update(
    *,
    user: User,
    off: Iterable[tuple[str, str]],
    quiet_start: dt.time | None,
    quiet_end: dt.time | None,
    digest: bool,
    unblock: Iterable[str] = (),
) -> None:
    """Replace ``user``'s choices: the (kind, channel) pairs in ``off`` are turned off,
    every other listed pair on; quiet hours (both or neither) and the digest. Channels in
    ``unblock`` that a permanent error turned off are turned on again."""
    from pawfile.lib.errors import Invalid

    if (quiet_start is None) != (quiet_end is None):
        raise Invalid(
            _t("Give both the start and the end of the quiet hours, or neither."),
            field="quiet_end",
        )
    off = set(off)
    names = [c.name for c in channels.channels_all()]
    with transaction.atomic():
        Preference.objects.filter(user=user).delete()
        Preference.objects.bulk_create(
            Preference(user=user, kind=kind, channel=channel, enabled=False)
            for kind, channel in sorted(off)
            if kind in Kind.values and channel in names
        )
        state = _state(user)
        state.quiet_start, state.quiet_end, state.digest = quiet_start, quiet_end, digest
        state.save(update_fields=["quiet_start", "quiet_end", "digest"])
        ChannelBlock.objects.filter(user=user, channel__in=list(unblock)).delete()


def _t(text: str) -> str:
    from django.utils.translation import gettext

    return gettext(text)


def preference_turn_off(*, user: User, kind: str, channel: str) -> None:
    """Turn one kind off on one channel (the one-click unsubscribe); ``kind`` ``*`` means
    every kind."""
    kinds = Kind.values if kind == "*" else [kind if kind in Kind.values else Kind.OTHER]
    with transaction.atomic():
        for each in kinds:
            Preference.objects.update_or_create(
                user=user, kind=each, channel=channel, defaults={"enabled": False}
            )
