"""Inbound webhooks of the phone providers: WhatsApp (messages and statuses) and Twilio
(message statuses). No session, no CSRF token: each request is trusted only after its
signature is checked, on the raw body, before anything is parsed.

``GET /hooks/whatsapp``: Meta's subscription handshake (``hub.mode=subscribe``,
``hub.verify_token`` equal to ``WHATSAPP_VERIFY_TOKEN`` → the ``hub.challenge`` echoed, else
403).

``POST /hooks/whatsapp``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(WHATSAPP_APP_SECRET,
raw body)>``. Missing → 401, wrong → 403, and nothing happens. Then, per message from a
*verified* number (any other sender is ignored, still 200, so Meta does not retry): its
``wamid`` is recorded (``WebhookReceipt``, unique: a duplicate delivery of the webhook does
nothing more), the 24-hour window opens, and

* a button or list reply we signed (``channels.whatsapp.button_parse``) runs its action
  (``actions.py``) for that person, if the notification was theirs;
* *menu* (or *menú*, *help*, *ayuda*) asks for the list of "PDF report" / "QR code" per pet;
* anything else gets a short help text.

The answer is queued in the outbox (``whatsapp.reply``, keyed by the inbound ``wamid``);
the PDF or image is made and uploaded by the worker, never in this request. Messages are
rate-limited per sender (``INBOUND_RULE``); past it they are dropped.

Statuses (``sent``, ``delivered``, ``read``, ``failed``) update the delivery of the message
they name (never backwards: a late ``delivered`` does not undo ``read``); a failure with a
permanent code (131026...) blocks the channel for that person.

``POST /hooks/twilio/status``: ``X-Twilio-Signature`` = base64 HMAC-SHA1 with
``TWILIO_AUTH_TOKEN`` of the URL Twilio called (the configured ``PAWFILE_BASE_URL`` plus
the path and query: behind a proxy the request's own host would differ) followed by each
POST parameter name and value, sorted by name. Missing → 401, wrong → 403. Then
``MessageStatus`` (``delivered``, ``undelivered``, ``failed``) updates the delivery.

``POST /hooks/twilio/inbound`` (the number's "a message comes in" webhook): signed the
same way; STOP, START and HELP act as ``sms_inbound`` says; the answer is TwiML.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext, override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from pawfile.lib.errors import ServiceError
from pawfile.lib.ratelimit import Rule, ratelimit_hit
from pawfile.notifications import actions, phone
from pawfile.notifications.channels import sms, whatsapp
from pawfile.notifications.choices import DeliveryStatus
from pawfile.notifications.models import (
    Delivery,
    Notification,
    PhoneChannel,
    PhoneChannelKind,
    ProviderMessage,
)
from pawfile.outbox.services import outbox_enqueue

log = logging.getLogger(__name__)

INBOUND_RULE = Rule(30, 60)  # messages per sender per minute
MENU_WORDS = frozenset({"menu", "menú", "help", "ayuda", "start", "hola", "hi", "hello"})
# A status moves only forward.
_RANK = {"sent": 1, "queued": 1, "delivered": 2, "read": 3, "failed": 4, "undelivered": 4}
_DELIVERY_STATUS = {
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.FAILED,
}


def _plain(status: int, text: str = "") -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


# --- WhatsApp ----------------------------------------------------------------------------------


def whatsapp_signature_valid(body: bytes, header: str) -> bool:
    """Whether ``header`` is ``sha256=`` + the HMAC-SHA256 of ``body`` with the app secret."""
    secret = settings.WHATSAPP_APP_SECRET
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256=") :].strip().lower(), expected)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_hook(request: HttpRequest) -> HttpResponse:
    if not settings.WHATSAPP_ENABLED:
        return _plain(404, "WhatsApp is not enabled on this site.")
    if request.method == "GET":
        return _whatsapp_handshake(request)
    header = request.headers.get("X-Hub-Signature-256", "")
    if not header:
        return _plain(401, "Missing X-Hub-Signature-256.")
    body = request.body
    if not whatsapp_signature_valid(body, header):
        return _plain(403, "Bad signature.")
    try:
        event = json.loads(body)
    except ValueError:
        return _plain(400, "The body is not JSON.")
    if not isinstance(event, dict):
        return _plain(400, "The body is not a JSON object.")
    handled = whatsapp_event_handle(event)
    return JsonResponse({"handled": handled})


def _whatsapp_handshake(request: HttpRequest) -> HttpResponse:
    token = settings.WHATSAPP_VERIFY_TOKEN
    given = request.GET.get("hub.verify_token", "")
    if (
        request.GET.get("hub.mode") == "subscribe"
        and token
        and hmac.compare_digest(given.encode(), token.encode())
    ):
        return _plain(200, request.GET.get("hub.challenge", ""))
    return _plain(403, "Verification failed.")


def whatsapp_event_handle(event: dict[str, Any]) -> int:
    """Act on one (signed) webhook body; returns how many messages and statuses had an
    effect. Unknown shapes are skipped, never an error."""
    handled = 0
    for entry in _list(event.get("entry")):
        for change in _list(entry.get("changes") if isinstance(entry, dict) else None):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            for message in _list(value.get("messages")):
                if isinstance(message, dict) and inbound_handle(message):
                    handled += 1
            for status in _list(value.get("statuses")):
                if isinstance(status, dict) and whatsapp_status_handle(status):
                    handled += 1
    return handled


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _reply_of(message: dict[str, Any]) -> str | None:
    """The id/payload of a button or list reply, if the message is one."""
    kind = message.get("type")
    if kind == "button":
        return str((message.get("button") or {}).get("payload") or "")
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        chosen = interactive.get("button_reply") or interactive.get("list_reply") or {}
        return str(chosen.get("id") or "")
    return None


def inbound_handle(message: dict[str, Any], *, now: Any = None) -> bool:
    """One inbound message (see the module); ``False`` when it had no effect (unknown or
    unverified sender, a duplicate, over the rate limit)."""
    wamid, sender = str(message.get("id") or ""), str(message.get("from") or "")
    if not wamid or not sender.isdigit():
        return False
    row = phone.sender_channel(PhoneChannelKind.WHATSAPP, "+" + sender)
    if row is None:
        return False
    if not ratelimit_hit("whatsapp-inbound", sender, INBOUND_RULE).allowed:
        log.info("whatsapp: inbound rate limit for user %s", row.user_id)
        return False
    now = now or timezone.now()
    with transaction.atomic():
        if not phone.receipt_first("whatsapp", wamid):
            return False  # a duplicate delivery: its effect happened the first time
        PhoneChannel.objects.filter(pk=row.pk).update(last_inbound_at=now)
        with override(row.user.locale or None):
            reply = _answer(row, message)
        outbox_enqueue(
            kind="whatsapp.reply",
            key=f"whatsapp:reply:{hashlib.sha256(wamid.encode()).hexdigest()[:40]}",
            payload={"phone_channel": row.pk, "reply": reply},
            sensitive=False,
        )
    return True


def _answer(row: PhoneChannel, message: dict[str, Any]) -> dict[str, Any]:
    chosen = _reply_of(message)
    if chosen is None:
        text = str((message.get("text") or {}).get("body") or "").strip().lower()
        if text.strip("*!. ") in MENU_WORDS:
            return {"type": "menu"}
        return {"type": "text", "text": _help()}
    parsed = whatsapp.button_parse(chosen)
    if parsed is None:
        return {"type": "text", "text": gettext("This button no longer works. Write *menu*.")}
    action_name, ref = parsed
    if action_name == "menu":
        item, _dot, pet = ref.partition(".")
        if not pet.isdigit():
            return {"type": "text", "text": _help()}
        return {"type": "item", "item": item, "pet": int(pet)}
    action = actions.reply_action_get(action_name)
    notification = (
        Notification.objects.filter(pk=int(ref), recipient_id=row.user_id).first()
        if ref.isdigit()
        else None
    )
    if action is None or notification is None or notification.kind != action.kind:
        return {"type": "text", "text": gettext("This button no longer works. Write *menu*.")}
    try:
        with transaction.atomic():
            text = action.run(row.user, notification)
    except ServiceError as exc:
        text = exc.message or gettext("That could not be done.")
    return {"type": "text", "text": text}


def _help() -> str:
    return gettext(
        "Hi! I send your %(site)s reminders here. Write *menu* to get a pet's health report "
        "or QR code."
    ) % {"site": settings.PAWFILE_SITE_NAME}


def whatsapp_status_handle(status: dict[str, Any]) -> bool:
    """One status of a message we sent (see the module)."""
    wamid, value = str(status.get("id") or ""), str(status.get("status") or "")
    errors = _list(status.get("errors"))
    code = errors[0].get("code") if errors and isinstance(errors[0], dict) else None
    title = errors[0].get("title", "") if errors and isinstance(errors[0], dict) else ""
    return _status_apply(
        "whatsapp", wamid, value, error=f"{code} {title}".strip() if code else "",
        block=isinstance(code, int) and code in whatsapp.PERMANENT_CODES,
    )  # fmt: skip


def _status_apply(provider: str, provider_id: str, value: str, *, error: str, block: bool) -> bool:
    if value not in _RANK or not provider_id:
        return False
    with transaction.atomic():
        found = (
            ProviderMessage.objects.select_for_update(of=("self",))
            .select_related("delivery", "phone_channel__user")
            .filter(provider=provider, provider_id=provider_id)
            .first()
        )
        if found is None or _RANK.get(found.status, 0) >= _RANK[value]:
            return False
        found.status = value
        found.save(update_fields=["status"])
        delivery = found.delivery
        new = _DELIVERY_STATUS.get(value)
        if delivery is not None and new is not None:
            rows = Delivery.objects.filter(channel=delivery.channel)
            rows = (
                rows.filter(outbox_key=delivery.outbox_key)
                if delivery.outbox_key
                else rows.filter(pk=delivery.pk)
            )
            changes: dict[str, Any] = {"status": new}
            if new == DeliveryStatus.FAILED:
                changes["error"] = error[:2000] or value
            rows.exclude(status=DeliveryStatus.FAILED).update(**changes)
        if block and found.phone_channel is not None and found.phone_channel.verified_at:
            from pawfile.notifications import services

            services.channel_block(
                user=found.phone_channel.user, channel=found.phone_channel.channel, reason=error
            )
    return True


# --- Twilio ------------------------------------------------------------------------------------


def twilio_signature(url: str, params: dict[str, list[str]], token: str) -> str:
    """Twilio's request signature of a POST to ``url`` with ``params``."""
    data = url + "".join(name + value for name in sorted(params) for value in sorted(params[name]))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _twilio_refusal(request: HttpRequest) -> HttpResponse | None:
    """``None`` for a request Twilio signed; else the answer: 404 with SMS off, 401
    unsigned, 403 wrongly signed."""
    if not settings.SMS_ENABLED:
        return _plain(404, "SMS is not enabled on this site.")
    header = request.headers.get("X-Twilio-Signature", "")
    if not header:
        return _plain(401, "Missing X-Twilio-Signature.")
    url = settings.PAWFILE_BASE_URL + request.get_full_path()
    params = {name: request.POST.getlist(name) for name in request.POST}
    expected = twilio_signature(url, params, settings.TWILIO_AUTH_TOKEN)
    if not hmac.compare_digest(header.encode(), expected.encode()):
        return _plain(403, "Bad signature.")
    return None


@csrf_exempt
@require_POST
def twilio_status_hook(request: HttpRequest) -> HttpResponse:
    refusal = _twilio_refusal(request)
    if refusal is not None:
        return refusal
    sid = request.POST.get("MessageSid", "")
    value = request.POST.get("MessageStatus", "")
    code = request.POST.get("ErrorCode", "")
    block = code.isdigit() and int(code) in sms.PERMANENT_CODES
    error = f"{code} {value}" if code else ""
    _status_apply("twilio", sid, value, error=error, block=block)
    return _plain(204)


@csrf_exempt
@require_POST
def twilio_inbound_hook(request: HttpRequest) -> HttpResponse:
    """A text sent to our number (signed as the status callback is): STOP, START and HELP
    (``sms_inbound``). Answers TwiML: empty, or one ``<Message>`` for HELP."""
    from xml.sax.saxutils import escape

    from pawfile.notifications.sms_inbound import sms_inbound_handle

    refusal = _twilio_refusal(request)
    if refusal is not None:
        return refusal
    answer = sms_inbound_handle(
        sender=request.POST.get("From", ""),
        body=request.POST.get("Body", ""),
        message_sid=request.POST.get("MessageSid", ""),
        opt_out_type=request.POST.get("OptOutType", ""),
    )
    message = f"<Message>{escape(answer)}</Message>" if answer else ""
    twiml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>'
    return HttpResponse(twiml, content_type="text/xml; charset=utf-8")
