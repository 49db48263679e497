"""Texts people send to our SMS number (Twilio's incoming-message webhook, ``webhooks.py``):
the opt-out keywords.

A text that is only a keyword (any case, surrounding spaces and punctuation ignored;
"stop texting me" is not one) acts for the verified SMS number that sent it, matched in
any of its forms (``phone_numbers.phone_variants``):

* STOP (``STOP_WORDS``): texts off for that person (``opted_in`` off), the time kept in
  ``PhoneChannel.stopped_at`` and a note in their inbox saying how to turn texts on again.
  Twilio itself stops delivering to a number that sent one of its own stop words (and
  answers 21610 to a send) until it sends START.
* START (``START_WORDS``): texts on again, ``stopped_at`` cleared, and a block of the
  channel (a 21610 refusal meanwhile) lifted.
* HELP (``HELP_WORDS``): answered with who we are and how to stop, to any sender (carriers
  require it), unless Twilio's Advanced Opt-Out already answered it (``OptOutType=HELP``).

When Advanced Opt-Out is on, Twilio names the keyword it recognised in ``OptOutType``
(``STOP``, ``START``, ``HELP``), in whatever language it was configured for; that wins over
our own word lists. Other texts have no effect (there is no SMS bot). Each inbound message
acts once (``WebhookReceipt`` on its ``MessageSid``; Twilio retries a webhook that failed).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, override

from pawfile.notifications import phone
from pawfile.notifications.choices import Kind
from pawfile.notifications.models import (
    ChannelBlock,
    PhoneChannel,
    PhoneChannelKind,
)

STOP, START, HELP = "STOP", "START", "HELP"
# Twilio's default opt-out, opt-in and help words, and their usual Spanish forms.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "BAJA"}
)
START_WORDS = frozenset({"START", "UNSTOP", "YES", "ALTA"})
HELP_WORDS = frozenset({"HELP", "INFO", "AYUDA"})


def sms_keyword(body: str, *, opt_out_type: str = "") -> str | None:
    """``STOP``, ``START``, ``HELP`` or ``None`` for a text ``body`` (and Twilio's
    ``OptOutType``, which wins when it names one of the three)."""
    named = (opt_out_type or "").strip().upper()
    if named in (STOP, START, HELP):
        return named
    word = " ".join((body or "").split()).strip(" .!¡¿?,;:'\"").upper()
    if word in STOP_WORDS or word == "STOP ALL":
        return STOP
    if word in START_WORDS:
        return START
    if word in HELP_WORDS:
        return HELP
    return None


def help_text(row: PhoneChannel | None) -> str:
    """The answer to HELP, in the sender's language when we know them."""
    with override(row.user.locale if row is not None and row.user.locale else None):
        return gettext(
            "%(site)s: pet care reminders. Reply STOP to stop texts, START to get them "
            "again. Settings: %(url)s"
        ) % {
            "site": settings.PAWFILE_SITE_NAME,
            "url": settings.PAWFILE_BASE_URL + reverse("phone_settings"),
        }


def sms_inbound_handle(
    *,
    sender: str,
    body: str,
    message_sid: str,
    opt_out_type: str = "",
    now: dt.datetime | None = None,
) -> str:
    """Act on one (signed) inbound text (see the module); returns the text to answer with,
    or ``""`` for no answer. A duplicate ``message_sid`` has no second effect."""
    keyword = sms_keyword(body, opt_out_type=opt_out_type)
    if keyword is None:
        return ""
    row = phone.sender_channel(PhoneChannelKind.SMS, sender)
    if keyword == HELP:
        return "" if opt_out_type.strip().upper() == HELP else help_text(row)
    if row is None or not message_sid:
        return ""
    now = now or timezone.now()
    with transaction.atomic():
        if not phone.receipt_first("twilio", message_sid):
            return ""  # Twilio delivered the webhook again: it acted the first time
        if keyword == STOP:
            phone_sms_stop(row, now=now)
        else:
            phone_sms_start(row)
    return ""


def phone_sms_stop(row: PhoneChannel, *, now: dt.datetime) -> None:
    """The person answered STOP: texts off, the time recorded, and their inbox told how to
    turn them on again (once per STOP)."""
    from pawfile.notifications import services

    PhoneChannel.objects.filter(pk=row.pk).update(opted_in=False, stopped_at=now)
    with override(row.user.locale or None):
        title = gettext("Text messages are off")
        body = gettext(
            "You answered STOP to our text messages, so we no longer send you any. To get "
            "them again, answer START to the same number."
        )
    services.notification_send(
        recipient=row.user, kind=Kind.SYSTEM, title=title, body=body,
        link=reverse("phone_settings"), event_key=f"sms-stop:{row.pk}:{now:%Y%m%d%H%M%S%f}",
        channels=["inapp"],
    )  # fmt: skip


def phone_sms_start(row: PhoneChannel) -> None:
    """The person answered START: texts on again and a block of the channel lifted."""
    PhoneChannel.objects.filter(pk=row.pk).update(opted_in=True, stopped_at=None)
    ChannelBlock.objects.filter(user_id=row.user_id, channel=PhoneChannelKind.SMS).delete()
