"""Push devices: a browser's web push subscription or a mobile app's FCM token (services and
selectors; model ``notifications.Device``).

Each person may have several. A device is removed:

* by its owner (the preferences page, ``DELETE /api/v1/devices/{id}``, or the browser's
  "turn off" that unsubscribes);
* when its owner signs out of the session it was registered in (Django's
  ``user_logged_out``, sent by the web sign-out and by allauth's app logout of
  ``/_allauth/app/v1/auth/session``; the device keeps the SHA-256 of that session's key,
  which for an API client is the session its JWT names);
* when the push service says the token is no longer valid (web push 404/410, FCM
  ``UNREGISTERED`` or an ``INVALID_ARGUMENT`` about the token): see ``device_invalid``;
* when it has not been seen for ``PAWFILE_DEVICE_INACTIVE_DAYS`` (``devices_inactive_remove``,
  daily). Registering again (apps do it on every start) moves ``last_seen_at``; for a
  browser, so does a push its push service accepts.

Only the owner sees or removes a device: anyone else's id is 404.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pawfile.accounts.models import User
from pawfile.lib.errors import Invalid, NotFound
from pawfile.lib.http import HttpError, host_check
from pawfile.notifications.choices import Kind
from pawfile.notifications.models import ChannelBlock, Delivery, Device, Notification, Preference
from pawfile.notifications.vapid import b64url_decode

WEBPUSH = "webpush"
MOBILE = "mobile"
TOKEN_MAX = 1024
LABEL_MAX = 120


def collapse_key(outbox_key: str) -> str:
    """A short name for one outbox message that push services collapse on (web push
    ``Topic``, at most 32 base64url characters; FCM ``collapse_key``, ``apns-collapse-id``):
    a retry of a push still waiting at the push service replaces it, instead of the device
    showing it twice. (One already delivered is not recalled: the documented window.)"""
    import base64

    digest = hashlib.sha256(outbox_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()[:32]


def session_hash(session_key: str | None) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest() if session_key else ""


def _label(text: str) -> str:
    return " ".join(str(text or "").split())[:LABEL_MAX]


# --- Reads -------------------------------------------------------------------------------------


def devices_of(*, user: User) -> QuerySet[Device]:
    """``user``'s devices, newest first."""
    return Device.objects.filter(user=user).order_by("-created_at", "-pk")


def device_get(*, user: User, device_id: int) -> Device:
    """One of ``user``'s devices; ``NotFound`` for anyone else's or none."""
    found = Device.objects.filter(pk=device_id, user=user).first()
    if found is None:
        raise NotFound()
    return found


def has_webpush(user: Any) -> bool:
    """Whether ``user`` has a browser subscribed to web push (the channel reaches them)."""
    return bool(getattr(user, "pk", None)) and (
        Device.objects.filter(user_id=user.pk).exclude(p256dh="").exists()
    )


def has_mobile(user: Any) -> bool:
    """Whether ``user`` has an app (FCM token) registered (the channel reaches them)."""
    return bool(getattr(user, "pk", None)) and (
        Device.objects.filter(user_id=user.pk, p256dh="").exists()
    )


def push_batch(*, delivery_ids: list[int], channel: str) -> tuple[User | None, list[Notification]]:
    """The recipient and the notifications of these ``channel`` deliveries that should still
    go: the notification exists, the recipient is active, has not blocked ``channel`` and
    has it on for the notification's kind (as ``selectors.email_batch`` for email)."""
    rows = list(
        Delivery.objects.filter(pk__in=delivery_ids)
        .select_related("notification__recipient")
        .order_by("notification_id")
    )
    if not rows:
        return None, []
    recipient = rows[0].notification.recipient
    if not recipient.is_active:
        return None, []
    if ChannelBlock.objects.filter(user=recipient, channel=channel).exists():
        return recipient, []
    off = set(
        Preference.objects.filter(user=recipient, channel=channel, enabled=False).values_list(
            "kind", flat=True
        )
    )
    keep = [
        row.notification
        for row in rows
        if (row.notification.kind if row.notification.kind in Kind.values else Kind.OTHER)
        not in off
    ]
    return recipient, keep


def push_devices(*, user: User, webpush: bool) -> list[Device]:
    """The devices a push goes to: ``user``'s browser subscriptions, or their app tokens."""
    rows = Device.objects.filter(user=user)
    rows = rows.exclude(p256dh="") if webpush else rows.filter(p256dh="")
    return list(rows.order_by("pk"))


# --- Writes ------------------------------------------------------------------------------------


def _endpoint_check(endpoint: str) -> None:
    """A push endpoint is an https address on the public internet (a user supplies it, the
    server posts to it: no private addresses, or the site's own network is reachable)."""
    allow_private = settings.PUSH_ALLOW_PRIVATE_ADDRESSES
    parts = urlsplit(endpoint)
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes or not parts.hostname or len(endpoint) > TOKEN_MAX:
        raise Invalid(_("The browser gave a push address this site cannot use."), field="endpoint")
    try:
        host_check(parts.hostname, port=parts.port, allow_private=allow_private)
    except HttpError:
        raise Invalid(
            _("The browser gave a push address this site cannot use."), field="endpoint"
        ) from None


def _keys_check(p256dh: str, auth: str) -> None:
    """The browser's keys: a P-256 public point (65 bytes) and a 16-byte auth secret."""
    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        secret = b64url_decode(auth)
    except (ValueError, TypeError):
        raise Invalid(_("The browser gave push keys this site cannot use."), field="keys") from None
    if len(point) != 65 or len(secret) != 16:
        raise Invalid(_("The browser gave push keys this site cannot use."), field="keys")


def _save(
    *,
    user: User,
    token: str,
    platform: str,
    label: str,
    session_key: str | None,
    p256dh: str = "",
    auth: str = "",
) -> Device:
    now = timezone.now()
    with transaction.atomic():
        device, created = Device.objects.select_for_update().get_or_create(
            token=token,
            defaults={
                "user": user, "platform": platform, "p256dh": p256dh, "auth": auth,
                "label": _label(label), "session_hash": session_hash(session_key),
                "created_at": now, "last_seen_at": now,
            },
        )  # fmt: skip
        if not created:
            if device.user_id != user.pk:
                device.created_at = now
            device.user = user
            device.platform, device.p256dh, device.auth = platform, p256dh, auth
            device.label = _label(label) or device.label
            device.session_hash = session_hash(session_key) or device.session_hash
            device.last_seen_at = now
            device.save()
    return device


def device_register(
    *, user: User, platform: str, token: str, label: str = "", session_key: str | None = None
) -> Device:
    """Register a mobile app's FCM registration token for ``user`` (``platform`` ios,
    android, or web for Firebase's web SDK), or refresh it when known (a token registered by
    someone else moves to ``user``: the phone changed hands or accounts). ``session_key``
    is the session the app signed in with (its device goes when that session signs out).
    ``Invalid`` for an unknown platform or an empty or overlong token."""
    token = (token or "").strip()
    if platform not in Device.Platform.values:
        raise Invalid(_("Choose ios, android or web."), field="platform")
    if not token or len(token) > TOKEN_MAX or not all("!" <= c <= "~" for c in token):
        raise Invalid(
            _("The device token is missing or longer than %(max)d characters.")
            % {"max": TOKEN_MAX},
            field="token",
        )
    if "://" in token:
        raise Invalid(
            _("That is a web push address; browsers subscribe from the settings page."),
            field="token",
        )
    return _save(user=user, token=token, platform=platform, label=label, session_key=session_key)


def webpush_subscribe(
    *,
    user: User,
    endpoint: str,
    p256dh: str,
    auth: str,
    label: str = "",
    session_key: str | None = None,
) -> Device:
    """Store a browser's ``PushSubscription`` (its endpoint and keys) for ``user``; the same
    endpoint again refreshes it. ``Invalid`` for an endpoint that is not https on the
    public internet, or keys that are not a P-256 point and a 16-byte secret."""
    endpoint = (endpoint or "").strip()
    _endpoint_check(endpoint)
    _keys_check(p256dh or "", auth or "")
    with transaction.atomic():
        device = _save(
            user=user, token=endpoint, platform=Device.Platform.WEB, label=label,
            session_key=session_key, p256dh=p256dh, auth=auth,
        )  # fmt: skip
        # A browser that subscribes again wants web push: a block from a gone subscription
        # no longer applies.
        ChannelBlock.objects.filter(user=user, channel=WEBPUSH).delete()
    return device


def webpush_unsubscribe(*, user: User, endpoint: str) -> bool:
    """Remove ``user``'s subscription with this endpoint (the browser turned push off);
    whether there was one."""
    deleted, _rows = Device.objects.filter(user=user, token=endpoint).delete()
    return bool(deleted)


def device_remove(*, user: User, device_id: int) -> None:
    """Remove one of ``user``'s devices; ``NotFound`` for anyone else's."""
    device_get(user=user, device_id=device_id).delete()


def devices_logout(*, user_id: int, session_key: str | None) -> int:
    """Remove the devices ``user_id`` registered in the session that is signing out."""
    if not session_key:
        return 0
    deleted, _rows = Device.objects.filter(
        user_id=user_id, session_hash=session_hash(session_key)
    ).delete()
    return deleted


def device_invalid(*, device_id: int) -> None:
    """The push service says this token or subscription is gone: remove it."""
    Device.objects.filter(pk=device_id).delete()


def device_delivered(*, device_id: int, seen: bool = False) -> None:
    """The push service took a push for this device. ``seen`` (web push) also counts as
    the device being alive: a browser never registers again by itself, and push services
    answer 404/410 for subscriptions that are gone."""
    now = timezone.now()
    changes: dict[str, Any] = {"last_ok_at": now} | ({"last_seen_at": now} if seen else {})
    Device.objects.filter(pk=device_id).update(**changes)


def devices_inactive_remove(*, now: dt.datetime | None = None) -> int:
    """Remove devices not seen for ``PAWFILE_DEVICE_INACTIVE_DAYS``; returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.PAWFILE_DEVICE_INACTIVE_DAYS)
    deleted, _rows = Device.objects.filter(last_seen_at__lt=cutoff).delete()
    return deleted


def _on_logout(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if user is None or session is None:
        return
    devices_logout(user_id=user.pk, session_key=session.session_key)


def signals_connect() -> None:
    """Remove a session's devices when it signs out (``AppConfig.ready``)."""
    from django.contrib.auth.signals import user_logged_out

    user_logged_out.connect(_on_logout, dispatch_uid="notifications.devices.logout")


# --- What a push says --------------------------------------------------------------------------


def push_content(notifications: list[Notification], *, locale: str | None) -> dict[str, str]:
    """``{title, body, url}`` of one push: the notification itself, or for several merged
    (quiet hours, digest) a count, their titles and the inbox. ``url`` is absolute."""
    from django.urls import reverse
    from django.utils.translation import gettext, override

    base = settings.PAWFILE_BASE_URL
    if len(notifications) == 1:
        only = notifications[0]
        link = only.link or reverse("notification_list")
        return {
            "title": only.title,
            "body": only.body[:400],
            "url": link if "://" in link else base + link,
        }
    with override(locale or None):
        title = gettext("%(count)d notifications") % {"count": len(notifications)}
    return {
        "title": title,
        "body": "\n".join(n.title for n in notifications[:5])[:400],
        "url": base + reverse("notification_list"),
    }


# --- After a push to every device ---------------------------------------------------------------

OK, GONE, RETRY = "ok", "gone", "retry"


class PushResult(NamedTuple):
    """What one push to one device came to: ``outcome`` OK, GONE or RETRY; ``detail`` the
    provider id (OK) or the error; ``retry_after`` the seconds the push service asked us
    to wait (its ``Retry-After``), if it said."""

    outcome: str
    detail: str
    retry_after: float | None = None


def push_finish(*, ids: list[int], user: User, webpush: bool, results: list[PushResult]) -> None:
    """Record what pushing deliveries ``ids`` to each of ``user``'s devices gave; ``results``
    holds one ``PushResult`` per device (a GONE device is already removed).

    One device that took it makes the deliveries sent (the others' errors are in the log;
    a retry would push twice to the ones that took it). None took it: while devices are
    left the outbox retries (``DeliveryError``, not before the longest ``Retry-After`` any
    push service gave); with none left the failure is permanent and blocks the channel for
    the user, who is told in the inbox (``services.deliveries_failed``).
    """
    import logging

    from pawfile.notifications import services
    from pawfile.outbox.handlers import DeliveryError

    channel = WEBPUSH if webpush else MOBILE
    taken = [r.detail for r in results if r.outcome == OK]
    errors = "; ".join(r.detail for r in results if r.outcome != OK)
    if taken:
        if errors:
            logging.getLogger(__name__).warning(
                "push %s %s: some devices failed: %s", channel, ids, errors
            )
        services.deliveries_sent(ids=ids, provider_id=taken[0])
        return
    if not push_devices(user=user, webpush=webpush):
        error = errors or "no device left"
        error = f"no {channel} device left ({error})"
        services.deliveries_failed(ids=ids, error=error, permanent=True)
        raise DeliveryError(error, permanent=True)
    services.deliveries_failed(ids=ids, error=errors, permanent=False)
    waits = [r.retry_after for r in results if r.outcome == RETRY and r.retry_after is not None]
    raise DeliveryError(errors, retry_after=max(waits, default=None))


# --- Export and deletion (lib.registry) -----------------------------------------------------------

DEVICE_FIELDS = ("id", "platform", "label", "created_at", "last_seen_at", "last_ok_at")


def export_rows(user: Any) -> Any:
    """``push_devices``: each device's platform, name and dates. The token and keys are
    credentials of the push service, not the person's data: left out."""
    from pawfile.lib.registry import ExportSection

    rows = [
        {name: getattr(device, name) for name in DEVICE_FIELDS} | {"web_push": device.is_webpush}
        for device in Device.objects.filter(user=user).order_by("pk")
    ]
    return ExportSection(rows={"push_devices": rows})


def account_clear(user: Any) -> list[str]:
    """Remove ``user``'s devices (the cascade would too; said here so it is explicit)."""
    Device.objects.filter(user=user).delete()
    return []


def register() -> None:
    """Export and deletion sections, the sign-out hook and the VAPID deploy check."""
    from pawfile.lib import registry
    from pawfile.notifications import vapid  # noqa: F401  (registers the deploy check)

    registry.register_export_section(app="notifications.devices", rows=export_rows)
    registry.register_deletion(app="notifications.devices", account=account_clear)
    signals_connect()
