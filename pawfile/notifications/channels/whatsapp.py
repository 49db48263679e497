"""WhatsApp through Meta's Cloud API (Graph API): notifications, verification codes, and the
answers of the two-way bot (``webhooks.py`` receives what people send).

Wire format: ``POST {WHATSAPP_API_BASE}/{WHATSAPP_PHONE_NUMBER_ID}/messages`` with
``Authorization: Bearer {WHATSAPP_TOKEN}`` and a JSON body (``messaging_product:
whatsapp``); the answer names the message (``messages[0].id``, a ``wamid``). Files go up
first (``POST .../media``, multipart) and are sent by media id, so the site need not be
reachable from Meta's servers (no public link to a file is ever made).

What is sent:

* a reminder (a kind with reply actions, see ``actions.py``): the template
  ``WHATSAPP_TEMPLATE_REMINDER`` in ``WHATSAPP_TEMPLATE_LANG`` with two body parameters
  (title, text) and one quick-reply payload per action; without a template, an interactive
  message with reply buttons (which WhatsApp delivers only within 24 h of the person's
  last message). Each button carries ``pf1:<action>:<notification id>:<signature>``
  (HMAC with the secret key): the webhook acts only for the verified sender who is that
  notification's recipient, and the action checks their access again;
* anything else: free text, which WhatsApp takes only within the 24-hour window (outside
  it, with a template configured, the template without buttons);
* several held deliveries (quiet hours, digest): one message listing them.

Errors: 131026 (the number cannot receive), 131030 (not an allowed recipient) and 131021
are permanent: the channel is blocked for that person and their inbox says so (the same
when a status callback reports them). 429, 5xx, a timeout or a network error are
retried by the outbox with backoff (not before Meta's ``Retry-After`` when it gives one).
Other 4xx refusals fail the message without blocking.

Duplicates: the Cloud API takes no idempotency key. The outbox key makes one message per
(event, recipient, channel); a second send happens only when the API took a message but
our request ended first (timeout, ``TIMEOUT``: 10 s), then the retry sends it again. That
window is the timeout of one request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language, gettext, override
from django.utils.translation import gettext_lazy as _

from pawfile.lib.http import HttpError, http_request, retry_after_seconds
from pawfile.notifications import actions, phone, phone_sending
from pawfile.notifications.channels.base import Channel
from pawfile.notifications.models import PhoneChannel, PhoneChannelKind, ProviderMessage
from pawfile.outbox.handlers import DeliveryError, register_handler

if TYPE_CHECKING:
    from pawfile.notifications.models import Notification
    from pawfile.outbox.models import OutboxMessage

log = logging.getLogger(__name__)

NAME = PhoneChannelKind.WHATSAPP
PROVIDER = "whatsapp"
TIMEOUT = 10.0  # seconds for the whole request (well under the outbox lease)
WINDOW = dt.timedelta(hours=24)
# The number cannot receive: stop sending to it (131026 undeliverable, 131030 not in the
# allowed list of a test number, 131021 the recipient is the sender).
PERMANENT_CODES = frozenset({131026, 131030, 131021})
# Refusals that pass: rate limits, a temporary error on Meta's side.
RETRY_CODES = frozenset({4, 80007, 130429, 131000, 131016, 131048, 131056, 133004})
OUTSIDE_WINDOW = 131047
BUTTON_PREFIX = "pf1"
TEXT_MAX = 1024  # interactive bodies; text messages take 4096


class GraphError(phone_sending.ProviderRefused):
    """The Graph API refused or could not be reached."""

    permanent_codes = PERMANENT_CODES

    @property
    def retryable(self) -> bool:
        if super().retryable:
            return True
        if self.blocks_number:
            return False
        # a bad or expired token (401/403) is the operator's to fix: keep the message
        return self.code in RETRY_CODES or self.status in (401, 403)


# --- The Graph API -----------------------------------------------------------------------------


def _url(path: str) -> str:
    return f"{settings.WHATSAPP_API_BASE}/{settings.WHATSAPP_PHONE_NUMBER_ID}/{path}"


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.WHATSAPP_TOKEN}"}


def _call(path: str, **kwargs: Any) -> dict[str, Any]:
    # The address is the operator's (a trusted setting), so a private one is allowed.
    try:
        response = http_request(
            "POST", _url(path), headers=_headers(), timeout=TIMEOUT, allow_private=True, **kwargs
        )
    except HttpError as exc:
        raise GraphError(f"WhatsApp unreachable: {exc}") from None
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code >= 400 or "error" in data:
        error = data.get("error") if isinstance(data, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code")
        details = (error.get("error_data") or {}).get("details", "")
        text = f"WhatsApp said {response.status_code} {code}: {error.get('message', '')}"
        if details:
            text += f" ({details})"
        if response.headers.get("Retry-After"):
            text += f"; retry after {response.headers['Retry-After']} s"
        raise GraphError(
            text, code=code if isinstance(code, int) else None, status=response.status_code,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )  # fmt: skip
    return data if isinstance(data, dict) else {}


def message_post(body: dict[str, Any]) -> str:
    """Send one message (``body`` without ``messaging_product``); returns its ``wamid``."""
    data = _call("messages", json={"messaging_product": "whatsapp", **body})
    try:
        return str(data["messages"][0]["id"])
    except (KeyError, IndexError, TypeError):
        raise GraphError(f"WhatsApp answered without a message id: {data!r}") from None


def media_upload(content: bytes, *, mime: str, filename: str) -> str:
    """Upload a file; returns its media id (valid 30 days on Meta's side)."""
    data = _call(
        "media",
        data={"messaging_product": "whatsapp", "type": mime},
        files={"file": (filename, content, mime)},
    )
    if "id" not in data:
        raise GraphError(f"WhatsApp answered the upload without an id: {data!r}")
    return str(data["id"])


# --- Buttons -----------------------------------------------------------------------------------


def _signature(action: str, ref: str) -> str:
    key = settings.SECRET_KEY.encode()
    message = f"whatsapp-button:{action}:{ref}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def button_id(action: str, ref: str) -> str:
    """The opaque, signed id of a button or list row (at most 256 characters)."""
    return f"{BUTTON_PREFIX}:{action}:{ref}:{_signature(action, ref)}"


def button_parse(value: str) -> tuple[str, str] | None:
    """``(action, ref)`` of a button id we made, or ``None`` (unknown or forged)."""
    parts = (value or "").split(":")
    if len(parts) != 4 or parts[0] != BUTTON_PREFIX:
        return None
    _prefix, action, ref, signature = parts
    if not hmac.compare_digest(signature, _signature(action, ref)):
        return None
    return action, ref


# --- Building messages -------------------------------------------------------------------------


def _param(text: str) -> str:
    """A template parameter: no new lines, tabs or runs of spaces (WhatsApp refuses them)."""
    flat = " · ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return " ".join(flat.replace("\t", " ").split())[:900] or "-"


def _absolute(link: str) -> str:
    if not link or "://" in link:
        return link
    return settings.PAWFILE_BASE_URL + link


def in_window(row: PhoneChannel, *, now: dt.datetime) -> bool:
    """Whether the person wrote to us in the last 24 hours (free text is allowed)."""
    return row.last_inbound_at is not None and now - row.last_inbound_at < WINDOW


def _text_of(notification: Notification) -> str:
    parts = [f"*{notification.title}*"]
    if notification.body:
        parts.append(notification.body)
    if notification.link:
        parts.append(_absolute(notification.link))
    return "\n".join(parts)


def template_language(language: str | None = None) -> str:
    """The template language for ``language`` (default: the active one).

    ``WHATSAPP_TEMPLATE_LANG`` lists the languages the templates were approved in, comma
    separated (``en_US,es``); the one matching the person's language is used, else the
    first."""
    codes = [c.strip() for c in settings.WHATSAPP_TEMPLATE_LANG.split(",") if c.strip()]
    wanted = (language or get_language() or "").replace("-", "_").lower()
    for code in codes:
        if code.lower() == wanted:
            return code
    for code in codes:
        if code.lower().split("_")[0] == wanted.split("_")[0]:
            return code
    return codes[0] if codes else "en"


def _template(name: str, params: list[str], payloads: list[str]) -> dict[str, Any]:
    components: list[dict[str, Any]] = [
        {"type": "body", "parameters": [{"type": "text", "text": _param(p)} for p in params]}
    ]
    for index, payload in enumerate(payloads):
        components.append({
            "type": "button", "sub_type": "quick_reply", "index": str(index),
            "parameters": [{"type": "payload", "payload": payload}],
        })  # fmt: skip
    return {
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": template_language()},
            "components": components,
        },
    }


def notification_body(
    notifications: list[Notification], row: PhoneChannel, *, now: dt.datetime
) -> dict[str, Any] | None:
    """The message for these notifications (in the active language), or ``None`` when
    WhatsApp would refuse it (free text outside the window and no template)."""
    template = settings.WHATSAPP_TEMPLATE_REMINDER
    window = in_window(row, now=now)
    if len(notifications) > 1:
        title = gettext("%(count)d notifications") % {"count": len(notifications)}
        lines = [f"• {n.title}" + (f": {n.body}" if n.body else "") for n in notifications]
        if window:
            return {"type": "text", "text": {"body": f"*{title}*\n" + "\n".join(lines)}}
        return _template(template, [title, " ".join(lines)], []) if template else None
    notification = notifications[0]
    buttons = actions.reply_actions_for(notification.kind)
    ids = [button_id(action.name, str(notification.pk)) for action in buttons]
    if buttons and template:
        return _template(template, [notification.title, notification.body], ids)
    if buttons and window:
        return {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": _text_of(notification)[:TEXT_MAX]},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": ident,
                                                    "title": str(action.label)[:20]}}
                        for ident, action in zip(ids, buttons, strict=True)
                    ]
                },
            },
        }  # fmt: skip
    if window:
        return {"type": "text", "text": {"preview_url": False, "body": _text_of(notification)}}
    if template:
        return _template(template, [notification.title, notification.body], [])
    return None


# --- Outbox handlers ---------------------------------------------------------------------------


def deliver(message: OutboxMessage) -> None:
    """The outbox handler of ``notify.whatsapp`` (see the module)."""
    ids = [int(i) for i in message.payload.get("deliveries", [])]
    found = phone_sending.batch(delivery_ids=ids, channel=NAME)
    if found.recipient is None or not found.notifications:
        return
    row = phone.reaching(found.recipient, NAME)
    if row is None:
        phone_sending.deliveries_fail(
            found.delivery_ids, "no verified WhatsApp number any more", block=False
        )
        return
    now = timezone.now()
    with override(found.recipient.locale or None):
        body = notification_body(found.notifications, row, now=now)
    if body is None:
        error = "outside the 24-hour window and no template"
        phone_sending.deliveries_fail(found.delivery_ids, error, block=False)
        raise DeliveryError("outside WhatsApp's 24-hour window, no template", permanent=True)
    to_send = {"recipient_type": "individual", "to": row.phone, **body}
    phone_sending.batch_send(
        found, row, send=lambda: message_post(to_send), provider=PROVIDER, status="sent", now=now
    )


def code_deliver(message: OutboxMessage) -> None:
    """The outbox handler of ``whatsapp.code``: the verification code, as the template
    ``WHATSAPP_TEMPLATE_CODE`` (an authentication template: the code in the body and in
    its copy-code button) or, without one, as text."""
    target = phone.code_target(message.payload)
    if target is None:
        return
    row, code = target
    if settings.WHATSAPP_TEMPLATE_CODE:
        body: dict[str, Any] = {
            "type": "template",
            "template": {
                "name": settings.WHATSAPP_TEMPLATE_CODE,
                "language": {"code": template_language(row.user.locale)},
                "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": code}]},
                    {"type": "button", "sub_type": "url", "index": "0",
                     "parameters": [{"type": "text", "text": code}]},
                ],
            },
        }  # fmt: skip
    else:
        body = {"type": "text", "text": {"preview_url": False, "body": phone.code_text(row, code)}}
    to_send = {"recipient_type": "individual", "to": row.phone, **body}
    phone_sending.code_send(
        row, send=lambda: message_post(to_send), provider=PROVIDER, status="sent"
    )


def reply_deliver(message: OutboxMessage) -> None:
    """The outbox handler of ``whatsapp.reply``: the bot's answer to one inbound message
    (``payload["reply"]``: ``{"type": "text", "text"}``, ``{"type": "menu"}`` or
    ``{"type": "item", "item", "pet"}``); built here, in the worker."""
    row = (
        PhoneChannel.objects.select_related("user")
        .filter(pk=message.payload.get("phone_channel"), verified_at__isnull=False)
        .first()
    )
    if row is None:
        return
    reply = message.payload.get("reply") or {}
    try:
        with override(row.user.locale or None):
            body = reply_body(row, reply)  # may upload a file first
        wamid = message_post({"recipient_type": "individual", "to": row.phone, **body})
    except GraphError as exc:
        raise exc.delivery_error() from None
    ProviderMessage.objects.get_or_create(
        provider=PROVIDER, provider_id=wamid, defaults={"phone_channel": row, "status": "sent"}
    )


def reply_body(row: PhoneChannel, reply: dict[str, Any]) -> dict[str, Any]:
    """The answer message for ``reply`` (see ``reply_deliver``)."""
    from pawfile.lib.errors import ServiceError

    kind = reply.get("type")
    if kind == "menu":
        return menu_body(row.user)
    if kind == "item":
        item = actions.menu_item_get(str(reply.get("item")))
        if item is None:
            return _text(gettext("This option is no longer available. Write *menu*."))
        try:
            attachment = item.build(row.user, int(reply.get("pet") or 0))
        except ServiceError as exc:
            return _text(exc.message or gettext("Not found."))
        media_id = media_upload(
            attachment.content, mime=attachment.mime, filename=attachment.filename
        )
        media: dict[str, Any] = {"id": media_id}
        if attachment.caption:
            media["caption"] = attachment.caption
        if attachment.media == "document":
            media["filename"] = attachment.filename
        return {"type": attachment.media, attachment.media: media}
    return _text(str(reply.get("text") or ""))


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"preview_url": False, "body": text or "-"}}


def menu_body(user: Any) -> dict[str, Any]:
    """A list message: one row per (pet, menu item), at most ten."""
    from pawfile.pets.selectors import pet_list

    items = actions.menu_items()
    pets = list(pet_list(user=user).order_by("name", "pk")[: actions.MENU_ROWS_MAX])
    rows = [
        {
            "id": button_id("menu", f"{item.name}.{pet.pk}"),
            "title": str(item.label)[:24],
            "description": pet.name[:72],
        }
        for pet in pets
        for item in items
    ][: actions.MENU_ROWS_MAX]
    if not rows:
        return _text(gettext("There is nothing to send yet: add a pet on the site first."))
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": gettext("What should I send you?")},
            "action": {
                "button": gettext("Choose")[:20],
                "sections": [{"title": gettext("Your pets")[:24], "rows": rows}],
            },
        },
    }


def _reaches(user: Any) -> bool:
    return phone.reaching(user, NAME) is not None


register_handler("whatsapp.code", code_deliver, keep_when_sent=("phone_channel",))
register_handler("whatsapp.reply", reply_deliver)

CHANNEL = Channel(
    name=NAME, label=_("WhatsApp"), setting="WHATSAPP_ENABLED", deliver=deliver,
    reaches=_reaches,
)  # fmt: skip
