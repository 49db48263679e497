"""Reads of the notifications app. Every inbox read takes the acting user and returns only
their own notifications."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest

from pawfile.accounts.models import User
from pawfile.accounts.sessions import shell_value
from pawfile.notifications import channels
from pawfile.notifications.models import (
    ChannelBlock,
    Delivery,
    Notification,
    Preference,
    RecipientState,
)
from pawfile.notifications.services import REVISION_TTL, revision_cache_key


def inbox(*, user: User, unread: bool = False, kind: str = "") -> QuerySet[Notification]:
    """``user``'s inbox, newest first; only unread ones, or one kind, when asked."""
    rows = Notification.objects.filter(recipient=user, in_inbox=True)
    if unread:
        rows = rows.filter(read_at__isnull=True)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.select_related("actor", "pet").order_by("-id")


_UNREAD_SQL = (
    f"SELECT COUNT(*) FROM {Notification._meta.db_table}"  # noqa: S608 - our own table name
    " WHERE recipient_id = %s AND in_inbox AND read_at IS NULL"
)
BELL_APP = "notifications"  # the bell's name in the shell's registry (contributions.APP)
BELL_SQL = _UNREAD_SQL  # the session's read brings the count with it (``bell_count``)


def unread_count(*, user: User) -> int:
    """How many of ``user``'s inbox notifications are unread (one count on a partial index).

    The bell runs this on every page, so it is the statement itself, not a queryset: the
    ORM took longer to build the query than the database to answer it. Same answer as
    ``inbox(user=user, unread=True).count()`` (``tests/notifications/test_inbox.py``)."""
    with connection.cursor() as cursor:
        cursor.execute(_UNREAD_SQL, [user.pk])
        return int(cursor.fetchone()[0])


def bell_count(*, request: HttpRequest | None) -> int:
    """The bell's number for ``request``: the signed-in user's unread count, else 0 (what the
    bell in the page shell shows, ``registry.register_shell_state``). On a GET or HEAD whose
    session read brought the count (``BELL_SQL``, ``accounts.sessions.shell_value``: same
    statement, same user), that count; otherwise ``unread_count``."""
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return 0
    assert request is not None
    read = shell_value(request, BELL_APP)
    if read is not None:
        return int(read)
    return unread_count(user=user)


def revision(*, user_id: int) -> int:
    """The inbox revision of ``user_id``: from the shared cache when there is one (no
    database query while it is there), else one primary-key read."""
    if settings.NOTIFY_REVISION_CACHE:
        cached = cache.get(revision_cache_key(user_id))
        if cached is not None:
            return int(cached)
    value = RecipientState.objects.filter(user_id=user_id).values_list("revision", flat=True)
    found = int(value.first() or 0)
    if settings.NOTIFY_REVISION_CACHE:
        # ``add``: a newer value published by a commit meanwhile wins over this read.
        cache.add(revision_cache_key(user_id), found, REVISION_TTL)
    return found


def state(*, user: User) -> RecipientState:
    """``user``'s quiet hours, digest choice and revision (defaults when never set)."""
    return RecipientState.objects.filter(user=user).first() or RecipientState(user=user)


def preferences_off(*, user: User) -> set[tuple[str, str]]:
    """The (kind, channel) pairs ``user`` turned off."""
    return set(Preference.objects.filter(user=user, enabled=False).values_list("kind", "channel"))


def blocked_channels(*, user: User) -> dict[str, ChannelBlock]:
    return {b.channel: b for b in ChannelBlock.objects.filter(user=user)}


def email_batch(*, delivery_ids: list[int]) -> tuple[User | None, list[Notification]]:
    """The recipient and the notifications of these email deliveries that should still go:
    their notification exists and the recipient has email on for its kind and unblocked."""
    rows = list(
        Delivery.objects.filter(pk__in=delivery_ids)
        .select_related("notification__recipient")
        .order_by("notification_id")
    )
    if not rows:
        return None, []
    recipient = rows[0].notification.recipient
    if not recipient.is_active or not recipient.email:
        return None, []
    if ChannelBlock.objects.filter(user=recipient, channel=channels.EMAIL).exists():
        return recipient, []
    off = {k for k, c in preferences_off(user=recipient) if c == channels.EMAIL}
    from pawfile.notifications.choices import Kind

    keep = [
        row.notification
        for row in rows
        if (row.notification.kind if row.notification.kind in Kind.values else Kind.OTHER)
        not in off
    ]
    return recipient, keep
