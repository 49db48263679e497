"""SMS through Twilio's REST API: notifications and verification codes.

Wire format: ``POST {TWILIO_API_BASE}/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json``,
form-encoded (``To``, ``From`` or ``MessagingServiceSid``, ``Body``, ``StatusCallback``),
HTTP Basic ``sid:token``; the answer (201) names the message (``sid``, ``SM...``). Twilio
then posts its progress to ``{PAWFILE_BASE_URL}/hooks/twilio/status`` (``webhooks.py``,
signed with ``X-Twilio-Signature``).

Opt-in per person (a verified number, ``phone.py``). Limits per person: ``SMS_RATELIMIT``
(count/seconds; over it the message waits for the outbox's next attempt) and
``SMS_MONTHLY_LIMIT`` texts per calendar month (UTC; over it the notification is not sent
by SMS and the inbox says so, once a month).

Errors: 21211 (not a valid number), 21614 (not a mobile number), 21610 (the person
answered STOP) and 21612 (unreachable) are permanent: the channel is blocked for that
person, who is told in the inbox. 429, 5xx, a timeout or a network error are retried
(not before Twilio's ``Retry-After`` when it gives one). A person who answers STOP is
opted out by ``sms_inbound``.
Other 4xx fail the message without blocking. Twilio takes no idempotency key for sends: as
for WhatsApp, a duplicate is possible only when Twilio took a message after our request
timed out (``TIMEOUT``, 10 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _

from pawfile.lib.http import HttpError, http_request, retry_after_seconds
from pawfile.lib.ratelimit import Rule, ratelimit_hit
from pawfile.notifications import phone, phone_sending
from pawfile.notifications.channels.base import Channel
from pawfile.notifications.choices import Kind
from pawfile.notifications.models import PhoneChannel, PhoneChannelKind
from pawfile.outbox.handlers import DeliveryError, register_handler

if TYPE_CHECKING:
    from pawfile.notifications.models import Notification
    from pawfile.outbox.models import OutboxMessage

NAME = PhoneChannelKind.SMS
PROVIDER = "twilio"
TIMEOUT = 10.0  # seconds for the whole request
# 30005/30006 come in status callbacks: unknown number, a landline.
PERMANENT_CODES = frozenset({21211, 21614, 21610, 21612, 30005, 30006})
BODY_MAX = 480  # three segments of plain text


class TwilioError(phone_sending.ProviderRefused):
    """Twilio refused a text or could not be reached (see the module for the codes)."""

    permanent_codes = PERMANENT_CODES

    @property
    def retryable(self) -> bool:
        # a bad token (401) is the operator's to fix: keep the message
        return super().retryable or (not self.blocks_number and self.status == 401)


def status_callback_url() -> str:
    return settings.PAWFILE_BASE_URL + "/hooks/twilio/status"


def message_post(*, to: str, body: str) -> str:
    """Send one text; returns Twilio's message sid."""
    form = {"To": to, "Body": body, "StatusCallback": status_callback_url()}
    if settings.TWILIO_MESSAGING_SERVICE_SID:
        form["MessagingServiceSid"] = settings.TWILIO_MESSAGING_SERVICE_SID
    else:
        form["From"] = settings.TWILIO_FROM
    url = (
        f"{settings.TWILIO_API_BASE}/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}"
        "/Messages.json"
    )
    try:  # the operator's address (a trusted setting): a private one is allowed
        response = http_request(
            "POST", url, data=form, timeout=TIMEOUT, allow_private=True,
            auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
        )  # fmt: skip
    except HttpError as exc:
        raise TwilioError(f"Twilio unreachable: {exc}") from None
    try:
        data: Any = response.json()
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    if response.status_code >= 400:
        code = data.get("code")
        text = f"Twilio said {response.status_code} {code}: {data.get('message', '')}"
        if response.headers.get("Retry-After"):
            text += f"; retry after {response.headers['Retry-After']} s"
        raise TwilioError(
            text, code=code if isinstance(code, int) else None, status=response.status_code,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )  # fmt: skip
    if not data.get("sid"):
        raise TwilioError(f"Twilio answered without a message sid: {data!r}")
    return str(data["sid"])


def _absolute(link: str) -> str:
    if not link or "://" in link:
        return link
    return settings.PAWFILE_BASE_URL + link


def text_of(notifications: list[Notification]) -> str:
    """The text message (in the active language), at most ``BODY_MAX`` characters."""
    site = settings.PAWFILE_SITE_NAME
    if len(notifications) == 1:
        n = notifications[0]
        text = f"{site}: {n.title}" + (f" - {n.body}" if n.body else "")
        link = _absolute(n.link)
    else:
        heading = gettext("%(count)d notifications") % {"count": len(notifications)}
        text = f"{site}: {heading}: " + "; ".join(n.title for n in notifications)
        link = settings.PAWFILE_BASE_URL + reverse("notification_list")
    if link:
        room = BODY_MAX - len(link) - 1
        return (text if len(text) <= room else text[: room - 1] + "…") + " " + link
    return text[:BODY_MAX]


def _limit_reached(row: PhoneChannel, *, now: Any) -> None:
    """Tell the person (once a month) that texts stopped until next month."""
    from pawfile.notifications import services

    with override(row.user.locale or None):
        title = gettext("Text message limit reached")
        body = gettext(
            "You received %(limit)d text messages this month, the most we send. The rest "
            "are in the app and by your other channels until next month."
        ) % {"limit": settings.SMS_MONTHLY_LIMIT}
    services.notification_send(
        recipient=row.user, kind=Kind.SYSTEM, title=title, body=body,
        link=reverse("notification_settings"),
        event_key=f"sms-limit:{phone_sending.month_start(now):%Y-%m}", channels=["inapp"],
    )  # fmt: skip


def deliver(message: OutboxMessage) -> None:
    """The outbox handler of ``notify.sms`` (see the module)."""
    ids = [int(i) for i in message.payload.get("deliveries", [])]
    found = phone_sending.batch(delivery_ids=ids, channel=NAME)
    if found.recipient is None or not found.notifications:
        return
    row = phone.reaching(found.recipient, NAME)
    if row is None:
        error = "no verified number for SMS any more"
        phone_sending.deliveries_fail(found.delivery_ids, error, block=False)
        return
    now = timezone.now()
    if phone_sending.month_used(row, now=now) >= settings.SMS_MONTHLY_LIMIT:
        phone_sending.deliveries_fail(found.delivery_ids, "monthly SMS limit reached", block=False)
        _limit_reached(row, now=now)
        raise DeliveryError("monthly SMS limit reached", permanent=True)
    decision = ratelimit_hit("sms-send", str(row.user_id), Rule.parse(settings.SMS_RATELIMIT))
    if not decision.allowed:
        raise DeliveryError(
            f"SMS rate limit: next window in {decision.reset} s", retry_after=decision.reset
        )
    with override(found.recipient.locale or None):
        body = text_of(found.notifications)
    phone_sending.batch_send(
        found, row, send=lambda: message_post(to=row.phone, body=body), provider=PROVIDER,
        status="queued", now=now,
    )  # fmt: skip


def code_deliver(message: OutboxMessage) -> None:
    """The outbox handler of ``sms.code``: the verification code as a text."""
    target = phone.code_target(message.payload)
    if target is None:
        return
    row, code = target
    text = phone.code_text(row, code)
    phone_sending.code_send(
        row, send=lambda: message_post(to=row.phone, body=text), provider=PROVIDER,
        status="queued",
    )  # fmt: skip


def _reaches(user: Any) -> bool:
    return phone.reaching(user, NAME) is not None


register_handler("sms.code", code_deliver, keep_when_sent=("phone_channel",))

CHANNEL = Channel(
    name=NAME, label=_("SMS"), setting="SMS_ENABLED", deliver=deliver, reaches=_reaches
)
