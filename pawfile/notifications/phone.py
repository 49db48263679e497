"""Phone numbers for the WhatsApp and SMS channels: verification, opt-in, who a channel reaches.

Verification: ``phone_code_send`` checks the number (E.164, through ``phonenumbers``), keeps
a new 6-digit code as an HMAC only, valid ``CODE_TTL`` for ``CODE_TRIES`` wrong guesses, and
queues the code to the number over the channel being verified (outbox kind
``<channel>.code``: nothing is sent from the request; the code travels in the payload
encrypted with ``PAWFILE_FIELD_KEYS`` and is dropped from it once sent). Sends are limited
per person (``PHONE_CODE_RATELIMIT``). ``phone_code_check`` compares in constant time; the
right code verifies the number and opts the person in. A verified number belongs to one
person per channel.

A channel reaches a person (``reaches``) when their number on it is verified and opted in,
and, for SMS, they have not answered STOP (``stopped_at``): Twilio refuses every text to a
number that sent STOP until it sends START, so turning texts on again here (``phone_opt``)
records the wish but the channel stays blocked by the carrier (no text is tried, a block of
the channel from a refusal stays) and the pages say so (``sms_stopped``;
``sms_service_number``, the number to text START to) until the START arrives
(``sms_inbound.phone_sms_start``).

Sending a message or a code through the provider is ``notifications.phone_sending``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from pawfile.accounts.models import User
from pawfile.lib.crypto import secret_decrypt, secret_encrypt
from pawfile.lib.errors import Conflict, Invalid, NotFound, TooMany
from pawfile.lib.ratelimit import Rule, ratelimit_hit
from pawfile.notifications.models import (
    ChannelBlock,
    PhoneChannel,
    PhoneChannelKind,
    WebhookReceipt,
)
from pawfile.notifications.phone_numbers import (
    phone_display,
    phone_normalise,
    phone_variants,
)
from pawfile.outbox.services import outbox_enqueue

CODE_TTL = dt.timedelta(minutes=10)
CODE_TRIES = 5
CODE_DIGITS = 6


def channel_enabled(channel: str) -> bool:
    """Whether the instance has ``channel`` (``whatsapp`` or ``sms``) switched on."""
    if channel == PhoneChannelKind.WHATSAPP:
        return bool(settings.WHATSAPP_ENABLED)
    if channel == PhoneChannelKind.SMS:
        return bool(settings.SMS_ENABLED)
    return False


def channels_offered() -> list[str]:
    return [c for c in PhoneChannelKind.values if channel_enabled(c)]


def _code_hash(channel: PhoneChannel, code: str) -> str:
    message = f"phone-code:{channel.pk}:{channel.phone}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _check_enabled(channel: str) -> None:
    if not channel_enabled(channel):
        raise NotFound(_("This channel is not available on this site."))


# --- Verification ------------------------------------------------------------------------------


def phone_code_send(
    *, user: User, channel: str, phone: str, now: dt.datetime | None = None
) -> PhoneChannel:
    """Start (or restart) verifying ``phone`` for ``user`` on ``channel`` and queue the code.

    A new number replaces the old one (which stops receiving at once). ``Invalid`` for a
    bad number, ``TooMany`` past the send limit, ``NotFound`` for a channel that
    is off."""
    _check_enabled(channel)
    number = phone_normalise(phone)
    decision = ratelimit_hit("phone-code", str(user.pk), Rule.parse(settings.PHONE_CODE_RATELIMIT))
    if not decision.allowed:
        minutes = max(-(-decision.reset // 60), 1)
        raise TooMany(
            _("Too many codes asked for. Try again in %(minutes)d minutes.") % {"minutes": minutes},
            field="phone",
        )
    now = now or timezone.now()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    with transaction.atomic():
        row, _created = PhoneChannel.objects.select_for_update().get_or_create(
            user=user, channel=channel, defaults={"phone": number}
        )
        if row.phone != number:
            row.phone, row.verified_at, row.opted_in = number, None, False
            row.stopped_at = None  # a STOP was the old number's
        row.code_hash = _code_hash(row, code)
        row.code_expires_at = now + CODE_TTL
        row.code_tries = 0
        row.save()
        outbox_enqueue(
            kind=f"{channel}.code",
            key=f"phone-code:{row.pk}:{secrets.token_hex(8)}",
            payload={"phone_channel": row.pk, "phone": number, "code": secret_encrypt(code)},
            sensitive=True,
        )
    return row


def code_from_payload(payload: dict[str, Any]) -> str:
    """The code an outbox ``<channel>.code`` message carries (decrypted)."""
    return secret_decrypt(str(payload["code"]), what="a phone verification code")


def code_target(payload: dict[str, Any]) -> tuple[PhoneChannel, str] | None:
    """The number a ``<channel>.code`` message goes to and its code; ``None`` when the
    number was removed or changed since (its code is of no use)."""
    row_id = payload.get("phone_channel")
    rows = PhoneChannel.objects.select_related("user")
    row = rows.filter(pk=int(row_id)).first() if row_id else None
    if row is None or row.phone != payload.get("phone"):
        return None
    return row, code_from_payload(payload)


def code_text(row: PhoneChannel, code: str) -> str:
    """The code as a plain message, in the person's language."""
    from django.utils.translation import override

    with override(row.user.locale or None):
        return _("Your %(site)s code is %(code)s. It expires in 10 minutes; do not share it.") % {
            "site": settings.PAWFILE_SITE_NAME,
            "code": code,
        }


def phone_code_check(
    *, user: User, channel: str, code: str, now: dt.datetime | None = None
) -> PhoneChannel:
    """Verify ``user``'s pending number on ``channel`` with ``code``; on success the number
    is verified, opted in, and a block of the channel (an earlier bad number) lifted.

    ``Invalid`` about ``code`` for a wrong code (the wrong try is counted and kept), an
    expired one, or after ``CODE_TRIES`` wrong ones; ``NotFound`` when no code was asked
    for; ``Conflict`` when another account has verified the same number meanwhile."""
    _check_enabled(channel)
    now = now or timezone.now()
    typed = "".join(ch for ch in (code or "") if ch.isdigit())
    refusal: Invalid | None = None
    with transaction.atomic():
        row = PhoneChannel.objects.select_for_update().filter(user=user, channel=channel).first()
        if row is None or not row.code_hash:
            raise NotFound(_("Ask for a code first."))
        if row.code_expires_at is None or row.code_expires_at <= now:
            raise Invalid(_("This code has expired. Ask for a new one."), field="code")
        if row.code_tries >= CODE_TRIES:
            raise Invalid(_("Too many wrong codes. Ask for a new one."), field="code")
        if len(typed) != CODE_DIGITS or not hmac.compare_digest(
            _code_hash(row, typed), row.code_hash
        ):
            # Counted in this transaction, which commits: the refusal is raised after it.
            PhoneChannel.objects.filter(pk=row.pk).update(code_tries=F("code_tries") + 1)
            left = CODE_TRIES - row.code_tries - 1
            if left <= 0:
                message = _("Too many wrong codes. Ask for a new one.")
            else:
                message = _("That code is not right. %(left)d tries left.") % {"left": left}
            refusal = Invalid(message, field="code")
        else:
            row.verified_at, row.opted_in = now, True
            row.code_hash, row.code_expires_at, row.code_tries = "", None, 0
            try:
                with transaction.atomic():
                    row.save()
            except IntegrityError:
                raise Conflict(
                    _("This number is already verified by another account."), field="phone"
                ) from None
            ChannelBlock.objects.filter(user=user, channel=channel).delete()
    if refusal is not None:
        raise refusal
    return row


def sms_stopped(row: PhoneChannel | None) -> bool:
    """Whether ``row`` is an SMS number that answered STOP and has not answered START since:
    the carrier (Twilio) refuses our texts to it, whatever the person set here."""
    return bool(
        row is not None and row.channel == PhoneChannelKind.SMS and row.stopped_at is not None
    )


def sms_service_number() -> str:
    """The number our texts come from (``TWILIO_FROM``), as people write it; ``""`` when
    texts go out through a messaging service (the number depends on the recipient)."""
    sender = (settings.TWILIO_FROM or "").strip()
    return phone_display(sender) if sender.startswith("+") else sender


def phone_opt(*, user: User, channel: str, opted_in: bool) -> PhoneChannel:
    """Turn a verified number's notifications on or off (on again lifts a block). An SMS
    number that answered STOP (``sms_stopped``) keeps ``stopped_at`` and any block when
    turned on: nothing is sent to it until the person texts START (``reaching``)."""
    row = PhoneChannel.objects.filter(user=user, channel=channel, verified_at__isnull=False).first()
    if row is None:
        raise NotFound(_("Verify a number first."))
    with transaction.atomic():
        row.opted_in = opted_in
        row.save(update_fields=["opted_in"])
        if opted_in and not sms_stopped(row):
            ChannelBlock.objects.filter(user=user, channel=channel).delete()
    return row


def phone_remove(*, user: User, channel: str) -> None:
    """Forget ``user``'s number on ``channel`` (``NotFound`` if there is none)."""
    deleted, _rows = PhoneChannel.objects.filter(user=user, channel=channel).delete()
    if not deleted:
        raise NotFound(_("No number to remove."))


# --- Reading -----------------------------------------------------------------------------------


def phone_channels_of(user: User) -> dict[str, PhoneChannel]:
    """``user``'s numbers, by channel."""
    return {row.channel: row for row in PhoneChannel.objects.filter(user=user)}


def reaching(user: Any, channel: str) -> PhoneChannel | None:
    """The verified, opted-in number of ``user`` on ``channel`` that has not answered STOP
    (``stopped_at``, SMS only), or ``None``."""
    if not getattr(user, "pk", None):
        return None
    return PhoneChannel.objects.filter(
        user_id=user.pk,
        channel=channel,
        verified_at__isnull=False,
        opted_in=True,
        stopped_at__isnull=True,
    ).first()


def sender_channel(channel: str, e164: str) -> PhoneChannel | None:
    """The verified number ``e164`` on ``channel`` (an inbound message's sender), or
    ``None`` (unknown or unverified numbers are ignored). Matched in any of the number's
    forms (``phone_numbers.phone_variants``: Mexico's ``+52 1``...)."""
    return (
        PhoneChannel.objects.select_related("user")
        .filter(
            channel=channel,
            phone__in=phone_variants(e164),
            verified_at__isnull=False,
            user__is_active=True,
        )
        .order_by("pk")
        .first()
    )


# --- Export and deletion (lib.registry) ---------------------------------------------------------


def export_rows(user: Any) -> Any:
    """``phone_channels``: each number with its channel, verification, opt-in and this
    month's count (never a pending code)."""
    from pawfile.lib.registry import ExportSection

    rows = [
        {
            "channel": row.channel,
            "phone": row.phone,
            "verified_at": row.verified_at,
            "opted_in": row.opted_in,
            "month": row.month,
            "month_count": row.month_count,
            "last_inbound_at": row.last_inbound_at,
            "created_at": row.created_at,
        }
        for row in PhoneChannel.objects.filter(user=user).order_by("channel")
    ]
    return ExportSection(rows={"phone_channels": rows})


def account_clear(user: Any) -> list[str]:
    """Forget ``user``'s numbers (and which provider messages went to them). No files."""
    PhoneChannel.objects.filter(user=user).delete()
    return []


def register() -> None:
    from pawfile.lib import registry

    registry.register_export_section(app="notifications.phone", rows=export_rows)
    registry.register_deletion(app="notifications.phone", account=account_clear)


RECEIPT_DAYS = 14


def receipt_first(provider: str, event_id: str) -> bool:
    """Record that ``provider``'s inbound event ``event_id`` is being acted on; ``False``
    when it was already (a webhook delivered again), so the caller does nothing more. Call
    it inside the transaction of the effect: a rolled-back effect forgets the receipt."""
    try:
        with transaction.atomic():
            WebhookReceipt.objects.create(provider=provider, event_id=event_id[:200])
    except IntegrityError:
        return False
    return True


def receipts_purge(*, now: dt.datetime | None = None) -> int:
    """Delete webhook receipts older than ``RECEIPT_DAYS``; returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=RECEIPT_DAYS)
    deleted, _rows = WebhookReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted
