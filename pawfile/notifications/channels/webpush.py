"""Web push (RFC 8030, 8291, 8292): one encrypted push per browser the recipient subscribed,
for each outbox message ``notify.webpush``.

The payload is JSON ``{"title", "body", "url"}`` encrypted for the browser's keys with
``aes128gcm`` (pywebpush's ``WebPusher.encode``), signed with the site's VAPID key
(``notifications/vapid.py``), and POSTed to the subscription's endpoint through
``pawfile.lib.http`` (timeout, no private addresses unless ``PUSH_ALLOW_PRIVATE_ADDRESSES``).
The service worker (``/sw.js``) shows it and opens ``url`` on a click.

The push service's answer per subscription: 201 (or any 2xx) delivered; 404 or 410 the
subscription is gone and is removed; anything else (429, 5xx, a network error, 401/403
when the VAPID key does not match the one the browser subscribed with) is retried, not
before the service's ``Retry-After`` when it gave one. What that means for the delivery is
``devices.push_finish``.

Duplicates: every push of one outbox message carries the same ``Topic``
(``devices.collapse_key``), so a retry after a push the service took while our request
timed out replaces the first one if it is still waiting at the service (the browser was
offline); a browser that already showed the first shows the second too (the window).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from pawfile.lib.http import HttpError, http_request, retry_after_seconds
from pawfile.notifications.channels.base import Channel
from pawfile.notifications.vapid import authorization

if TYPE_CHECKING:
    from pawfile.notifications.devices import PushResult
    from pawfile.notifications.models import Device
    from pawfile.outbox.models import OutboxMessage

log = logging.getLogger(__name__)

# How long the push service keeps a message for a browser that is offline (seconds).
TTL = 24 * 3600


def _reaches(user: Any) -> bool:
    from pawfile.notifications.devices import has_webpush

    return has_webpush(user)


def encrypt(device: Device, data: bytes) -> bytes:
    """``data`` encrypted for the browser's keys (aes128gcm, RFC 8291)."""
    # Imported when first sending: pywebpush brings aiohttp and requests (about 38 MB a
    # process), which a web node that never sends a push should not carry.
    from pywebpush import WebPusher

    subscription = {
        "endpoint": device.token,
        "keys": {"p256dh": device.p256dh, "auth": device.auth},
    }
    return bytes(WebPusher(subscription).encode(data, content_encoding="aes128gcm")["body"])


def push_one(
    device: Device, data: bytes, *, urgency: str = "normal", topic: str = ""
) -> PushResult:
    """POST one push; its ``PushResult``. A GONE device is removed here."""
    from pawfile.notifications import devices
    from pawfile.notifications.devices import PushResult

    headers = {
        "Authorization": authorization(device.token),
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(TTL),
        "Urgency": urgency,
    }
    if topic:
        headers["Topic"] = topic
    try:
        response = http_request(
            "POST", device.token, content=encrypt(device, data), headers=headers,
            timeout=settings.PUSH_TIMEOUT, allow_private=settings.PUSH_ALLOW_PRIVATE_ADDRESSES,
        )  # fmt: skip
    except HttpError as exc:
        return PushResult(devices.RETRY, f"device {device.pk}: {exc}")
    status = response.status_code
    if 200 <= status < 300:
        devices.device_delivered(device_id=device.pk, seen=True)
        location = response.headers.get("Location", "") or f"webpush:{device.pk}"
        return PushResult(devices.OK, location)
    detail = f"device {device.pk}: push service said {status} {response.text[:200]!r}"
    if status in (404, 410):
        devices.device_invalid(device_id=device.pk)
        return PushResult(devices.GONE, detail)
    if status in (401, 403):
        log.warning("web push refused our VAPID signature (key changed?): %s", detail)
    after = response.headers.get("Retry-After", "")
    if after:
        detail += f" (retry after {after} s)"
    return PushResult(devices.RETRY, detail, retry_after_seconds(after))


def deliver(message: OutboxMessage) -> None:
    """The outbox handler of ``notify.webpush``: push the deliveries in the payload to each
    of the recipient's browsers (several merged ones as one push)."""
    from pawfile.notifications import devices

    ids = [int(i) for i in message.payload.get("deliveries", [])]
    recipient, notifications = devices.push_batch(delivery_ids=ids, channel=devices.WEBPUSH)
    if recipient is None or not notifications:
        return
    content = devices.push_content(notifications, locale=recipient.locale)
    data = json.dumps(content, ensure_ascii=False).encode()
    urgency = "high" if any(n.kind == "reminder" for n in notifications) else "normal"
    results = [
        push_one(device, data, urgency=urgency, topic=devices.collapse_key(message.key))
        for device in devices.push_devices(user=recipient, webpush=True)
    ]
    devices.push_finish(ids=ids, user=recipient, webpush=True, results=results)


CHANNEL = Channel(
    name="webpush", label=_("Browser push"), setting="WEBPUSH_ENABLED", deliver=deliver,
    reaches=_reaches,
)  # fmt: skip
