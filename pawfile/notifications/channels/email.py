"""Email: one mail per outbox message ``notify.email``, in the recipient's language, with
an HTML and a text part, and the one-click unsubscribe of RFC 8058 (``List-Unsubscribe``
with an https and a mailto address, ``List-Unsubscribe-Post``).

The mail is rendered when it is sent (so held deliveries merged after quiet hours, or the
daily digest, are one mail listing them all). SMTP goes through Django's mail setup
(``EMAIL_URL``). A 5xx refusal is permanent: the channel is blocked for that user, who is
told in the inbox; anything else is retried by the outbox.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _

from pawfile.notifications.channels.base import Channel
from pawfile.notifications.channels.email_bodies import BatchBodies, bodies_render
from pawfile.outbox.handlers import DeliveryError
from pawfile.outbox.mail import message_id, send_alternative

if TYPE_CHECKING:
    from pawfile.outbox.models import OutboxMessage


def _reaches(user: Any) -> bool:
    return bool(getattr(user, "email", ""))


def _refusal(exc: Exception) -> DeliveryError:
    """What an SMTP exception means for the outbox (5xx permanent, the rest retried)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reply in exc.recipients.values()]
        text = "; ".join(f"{a}: {c} {r!r}" for a, (c, r) in exc.recipients.items())
        return DeliveryError(f"recipients refused: {text}", permanent=all(c >= 500 for c in codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        permanent = 500 <= exc.smtp_code < 600 and not isinstance(
            exc, smtplib.SMTPAuthenticationError
        )
        return DeliveryError(
            f"mail server said {exc.smtp_code} {exc.smtp_error!r}", permanent=permanent
        )
    return DeliveryError(f"mail server unreachable: {type(exc).__name__}: {exc}")


# Where ``prepare`` leaves a message's (recipient, notifications) for ``deliver``, and the
# batch's ``BatchBodies`` (the bodies rendered once per language and shape).
PREPARED = "_email_prepared"
BODIES = "_email_bodies"


def _delivery_ids(message: OutboxMessage) -> list[int]:
    return [int(i) for i in message.payload.get("deliveries", [])]


def prepare(messages: Sequence[OutboxMessage]) -> None:
    """The batch half of the handler (``outbox.batch``): what ``selectors.email_batch``
    reads for one message, read for all of ``messages`` in three queries (the deliveries
    with their notification and recipient, the recipients' email blocks, their email
    preferences turned off), and kept on each message for :func:`deliver`, with one
    ``email_bodies.BatchBodies`` for the batch: the bodies rendered once per language and
    shape, not twice per mail."""
    from pawfile.notifications import channels
    from pawfile.notifications.choices import Kind
    from pawfile.notifications.models import ChannelBlock, Delivery, Preference

    wanted = {m.pk: _delivery_ids(m) for m in messages}
    bodies = BatchBodies()
    rows = {
        row.pk: row
        for row in Delivery.objects.filter(
            pk__in=[i for ids in wanted.values() for i in ids]
        ).select_related("notification__recipient")
    }
    users = {row.notification.recipient_id for row in rows.values()}
    blocked = set(
        ChannelBlock.objects.filter(user_id__in=users, channel=channels.EMAIL).values_list(
            "user_id", flat=True
        )
    )
    off: dict[int, set[str]] = {}
    for user_id, kind in Preference.objects.filter(
        user_id__in=users, channel=channels.EMAIL, enabled=False
    ).values_list("user_id", "kind"):
        off.setdefault(user_id, set()).add(kind)
    for message in messages:
        mine = sorted(
            (rows[i] for i in wanted[message.pk] if i in rows), key=lambda r: r.notification_id
        )
        if not mine:
            found: tuple[Any, list[Any]] = (None, [])
        else:
            recipient = mine[0].notification.recipient
            if not recipient.is_active or not recipient.email:
                found = (None, [])
            elif recipient.pk in blocked:
                found = (recipient, [])
            else:
                no = off.get(recipient.pk, set())
                kinds = Kind.values
                keep = [
                    row.notification
                    for row in mine
                    if (row.notification.kind if row.notification.kind in kinds else Kind.OTHER)
                    not in no
                ]
                found = (recipient, keep)
        setattr(message, PREPARED, found)
        setattr(message, BODIES, bodies)


def deliver(message: OutboxMessage) -> None:
    """The outbox handler of ``notify.email``: render and send the deliveries in the
    payload. Deliveries whose notification is gone, or whose recipient turned email off
    meanwhile, are left out; with none left, nothing is sent. In a batch, what
    :func:`prepare` read is used, and the deliveries are marked sent with the batch
    (``outbox.batch.after_batch``)."""
    from pawfile.notifications import selectors, services, unsubscribe
    from pawfile.outbox.batch import after_batch

    ids = _delivery_ids(message)
    prepared = message.__dict__.pop(PREPARED, None)
    bodies = message.__dict__.pop(BODIES, None)
    if prepared is None:
        recipient, notifications = selectors.email_batch(delivery_ids=ids)
    else:
        recipient, notifications = prepared
    if recipient is None or not notifications:
        return
    for notification in notifications:
        link = notification.link
        notification.url = link if "://" in link or not link else settings.PAWFILE_BASE_URL + link  # type: ignore[attr-defined]
    unsubscribe_kind = notifications[0].kind if len({n.kind for n in notifications}) == 1 else "*"
    links = unsubscribe.links(user=recipient, kind=unsubscribe_kind)
    context = {
        "recipient": recipient,
        "notifications": notifications,
        "site_name": settings.PAWFILE_SITE_NAME,
        "base_url": settings.PAWFILE_BASE_URL,
        "unsubscribe_url": links.https,
        "settings_url": settings.PAWFILE_BASE_URL + "/notifications/settings/",
    }
    with override(recipient.locale or None):
        if len(notifications) == 1:
            subject = notifications[0].title
        else:
            subject = gettext("%(count)d notifications") % {"count": len(notifications)}
        subject = f"[{settings.PAWFILE_SITE_NAME}] {subject}"
        text, html = bodies.render(context) if bodies is not None else bodies_render(context)
    mail_id = message_id(message)
    headers = {
        "Message-ID": mail_id,
        "List-Unsubscribe": f"<{links.https}>, <{links.mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }
    try:
        # Over the batch's SMTP connection (outbox.batch), the bytes written out directly.
        send_alternative(subject=subject, text=text, html=html, to=recipient.email, headers=headers)
    except (smtplib.SMTPException, OSError) as exc:
        refusal = _refusal(exc)
        services.deliveries_failed(ids=ids, error=refusal.message, permanent=refusal.permanent)
        raise refusal from None
    after_batch(services.deliveries_sent_many, (ids, mail_id))


CHANNEL = Channel(
    name="email", label=_("Email"), setting="NOTIFY_EMAIL_ENABLED", deliver=deliver,
    reaches=_reaches, prepare=prepare,
)  # fmt: skip
