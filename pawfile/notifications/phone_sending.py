"""Sending through a phone provider (Twilio for SMS, WhatsApp's Graph API): the batch of a
person's deliveries still to go on a channel, the provider's refusal and what it means for the
outbox (retry or fail, block the number), the record of each message sent for the status
callbacks, and the monthly count of messages per number.

Numbers, verification and opt-in are ``notifications.phone``; the channels
(``channels/sms.py``, ``channels/whatsapp.py``) call this module with their own ``send``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from pawfile.accounts.models import User
from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import (
    ChannelBlock,
    Delivery,
    Notification,
    PhoneChannel,
    ProviderMessage,
)
from pawfile.notifications.phone_numbers import phone_display
from pawfile.outbox.handlers import DeliveryError


@dataclass
class Batch:
    recipient: User | None
    notifications: list[Notification]
    delivery_ids: list[int]


def batch(*, delivery_ids: list[int], channel: str) -> Batch:
    """The recipient and the notifications of these deliveries that should still go: not
    sent yet, the notification exists, the channel is not blocked and the kind not turned
    off (as ``selectors.email_batch``)."""
    from pawfile.notifications.selectors import preferences_off

    rows = list(
        Delivery.objects.filter(pk__in=delivery_ids, channel=channel)
        .exclude(status__in=[DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ])
        .select_related("notification__recipient")
        .order_by("notification_id")
    )
    if not rows:
        return Batch(None, [], [])
    recipient = rows[0].notification.recipient
    if not recipient.is_active:
        return Batch(None, [], [])
    if ChannelBlock.objects.filter(user=recipient, channel=channel).exists():
        return Batch(recipient, [], [])
    off = {k for k, c in preferences_off(user=recipient) if c == channel}
    keep = [
        row
        for row in rows
        if (row.notification.kind if row.notification.kind in Kind.values else Kind.OTHER)
        not in off
    ]
    return Batch(recipient, [row.notification for row in keep], [row.pk for row in keep])


# --- Sending through a phone provider ----------------------------------------------------------


class ProviderRefused(Exception):
    """A phone provider (Twilio, WhatsApp's Graph API) refused a message or could not be
    reached. ``code`` is the provider's error code, ``status`` the HTTP status (``None``:
    no answer), ``retry_after`` the seconds its ``Retry-After`` asked for. Each provider's
    subclass says which codes block the number and what is worth retrying."""

    permanent_codes: frozenset[int] = frozenset()

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status
        self.retry_after = retry_after

    @property
    def blocks_number(self) -> bool:
        """The number cannot receive: stop sending to it."""
        return self.code in self.permanent_codes

    @property
    def retryable(self) -> bool:
        """Whether a later attempt may succeed (no answer, 429, 5xx by default)."""
        if self.blocks_number:
            return False
        return self.status is None or self.status == 429 or self.status >= 500

    def delivery_error(self) -> DeliveryError:
        """The outbox's view of this refusal: retried (after ``retry_after`` when given)
        or permanent."""
        if self.retryable:
            return DeliveryError(self.message, retry_after=self.retry_after)
        return DeliveryError(self.message, permanent=True)


def deliveries_fail(ids: list[int], error: str, *, block: bool) -> None:
    """Fail these deliveries; ``block`` also turns the channel off for the person and tells
    them in the inbox (``services.deliveries_failed``)."""
    from pawfile.notifications import services

    if block:
        services.deliveries_failed(ids=ids, error=error, permanent=True)
    else:
        Delivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.FAILED, error=error[:2000])


def batch_send(
    found: Batch,
    row: PhoneChannel,
    *,
    send: Callable[[], str],
    provider: str,
    status: str,
    now: dt.datetime,
) -> None:
    """Send one notification message to ``row`` with ``send`` (which returns the provider's
    message id or raises ``ProviderRefused``) and record the outcome of ``found``'s
    deliveries: sent, with a ``ProviderMessage`` (initial ``status``) for the status
    callbacks and one more message counted this month; or, refused, a ``DeliveryError`` for
    the outbox: retryable (the deliveries keep waiting, with the error), else permanent
    (the deliveries fail; a number that cannot receive blocks the channel)."""
    from pawfile.notifications import services

    try:
        provider_id = send()
    except ProviderRefused as exc:
        if exc.retryable:
            services.deliveries_failed(ids=found.delivery_ids, error=exc.message, permanent=False)
        else:
            deliveries_fail(found.delivery_ids, exc.message, block=exc.blocks_number)
        raise exc.delivery_error() from None
    services.deliveries_sent(ids=found.delivery_ids, provider_id=provider_id)
    ProviderMessage.objects.get_or_create(
        provider=provider, provider_id=provider_id,
        defaults={"phone_channel": row, "delivery_id": found.delivery_ids[0], "status": status},
    )  # fmt: skip
    month_count(row, now=now)


def month_start(now: dt.datetime) -> dt.date:
    return now.astimezone(dt.UTC).date().replace(day=1)


def month_used(row: PhoneChannel, *, now: dt.datetime) -> int:
    """Messages sent to ``row`` this calendar month (UTC)."""
    return row.month_count if row.month == month_start(now) else 0


def month_count(row: PhoneChannel, *, now: dt.datetime) -> None:
    """Count one message sent to ``row`` this month (a new month starts at one)."""
    month = month_start(now)
    with transaction.atomic():
        if not PhoneChannel.objects.filter(pk=row.pk, month=month).update(
            month_count=F("month_count") + 1
        ):
            PhoneChannel.objects.filter(pk=row.pk).update(month=month, month_count=1)


def code_undeliverable(row: PhoneChannel, *, reason: str) -> None:
    """The provider refused the number a code was sent to: say so in the person's inbox
    (once per number), so they can correct it."""
    from django.urls import reverse
    from django.utils.translation import override

    from pawfile.notifications import services

    with override(row.user.locale or None):
        title = _("We could not send a code to %(phone)s") % {"phone": phone_display(row.phone)}
        body = _("Check the number and its country code, then ask for a new code.")
    services.notification_send(
        recipient=row.user, kind=Kind.SYSTEM, title=title, body=body,
        link=reverse("phone_settings"), event_key=f"phone-undeliverable:{row.pk}:{row.phone}",
        channels=["inapp"],
    )  # fmt: skip


def code_send(row: PhoneChannel, *, send: Callable[[], str], provider: str, status: str) -> None:
    """Send a code with ``send`` (returns the provider's message id or raises
    ``ProviderRefused``) and record the message for the status callbacks. A number the
    provider cannot reach is said in the person's inbox (``code_undeliverable``); the
    refusal becomes the outbox's ``DeliveryError``."""
    try:
        provider_id = send()
    except ProviderRefused as exc:
        if exc.blocks_number:
            code_undeliverable(row, reason=exc.message)
        raise exc.delivery_error() from None
    ProviderMessage.objects.get_or_create(
        provider=provider, provider_id=provider_id,
        defaults={"phone_channel": row, "status": status},
    )  # fmt: skip
