"""Mobile push through Firebase Cloud Messaging's HTTP v1 API, for each outbox message
``notify.mobile``: one ``messages:send`` per app token the recipient registered.

``POST {FCM_ENDPOINT}/v1/projects/{project}/messages:send`` with
``{"message": {"token", "notification": {"title", "body"}, "data": {"url", ...}}}`` and an
OAuth2 bearer token of the service account (``FCM_SERVICE_ACCOUNT_FILE``; google-auth signs
the JWT assertion and exchanges it at the file's ``token_uri``). Both requests go through
``pawfile.lib.http`` (google-auth is given a transport that uses it). The access token is
kept in the process until shortly before it expires.

FCM's answer per token: 200 delivered (``name`` is the provider id); 404 ``UNREGISTERED``,
403 ``SENDER_ID_MISMATCH`` or 400 ``INVALID_ARGUMENT`` about the token: the token is gone
and removed; 401: the access token is dropped and the message retried; 429, 5xx or a
network error: retried by the outbox (no second request inside the attempt), not before
FCM's ``Retry-After`` when it gave one. What that means for the delivery is
``devices.push_finish``.

Duplicates: FCM HTTP v1 takes no idempotency key. A message FCM took while our request
timed out is sent again by the retry; the outbox message's ``collapse_key`` (Android) and
``apns-collapse-id`` (iOS) make a device that was offline get only one of the two, and
iOS replace a shown one in place; an Android device that showed the first shows the
second too (the window: one request timeout, ``PUSH_TIMEOUT``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from google.auth import exceptions as google_exceptions
from google.auth import transport
from google.oauth2 import service_account

from pawfile.lib.http import HttpError, http_request, retry_after_seconds
from pawfile.notifications.channels.base import Channel

if TYPE_CHECKING:
    from pawfile.notifications.devices import PushResult
    from pawfile.notifications.models import Device
    from pawfile.outbox.models import OutboxMessage

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GONE_CODES = {"UNREGISTERED", "SENDER_ID_MISMATCH"}

_lock = threading.Lock()
_credentials: dict[str, service_account.Credentials] = {}


class _Response(transport.Response):
    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self._status, self._headers, self._data = status, headers, data

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def data(self) -> bytes:
        return self._data


class LibHttpRequest(transport.Request):
    """google-auth's transport over ``pawfile.lib.http`` (token requests included)."""

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: Any = None,
        **kwargs: Any,
    ) -> _Response:
        try:
            response = http_request(
                method, url, content=body, headers=dict(headers or {}),
                timeout=float(timeout or settings.PUSH_TIMEOUT),
                allow_private=settings.PUSH_ALLOW_PRIVATE_ADDRESSES,
            )  # fmt: skip
        except HttpError as exc:
            raise google_exceptions.TransportError(str(exc)) from None
        return _Response(response.status_code, dict(response.headers), response.content)


def _reaches(user: Any) -> bool:
    from pawfile.notifications.devices import has_mobile

    return has_mobile(user)


def credentials() -> service_account.Credentials:
    """The service account's credentials (one per file, per process)."""
    path = settings.FCM_SERVICE_ACCOUNT_FILE
    with _lock:
        found = _credentials.get(path)
        if found is None:
            found = service_account.Credentials.from_service_account_file(path, scopes=[SCOPE])
            _credentials[path] = found
        return found


def project_id() -> str:
    return str(settings.FCM_PROJECT_ID or credentials().project_id or "")


def access_token() -> str:
    """A valid OAuth2 access token for FCM (refreshed when missing or about to expire)."""
    creds = credentials()
    with _lock:
        if not creds.valid:
            creds.refresh(LibHttpRequest())
        return str(creds.token)


def credentials_forget() -> None:
    """Drop the cached credentials (a 401 from FCM, or a test changing the settings)."""
    with _lock:
        _credentials.clear()


def message_body(
    device: Device, content: dict[str, str], *, kind: str, collapse: str = ""
) -> dict[str, Any]:
    """The ``messages:send`` body for one token (``collapse``: see ``devices.collapse_key``)."""
    android: dict[str, Any] = {"priority": "high" if kind == "reminder" else "normal"}
    message: dict[str, Any] = {
        "token": device.token,
        "notification": {"title": content["title"], "body": content["body"]},
        "data": {"url": content["url"], "kind": kind},
        "android": android,
    }
    if collapse:
        android["collapse_key"] = collapse
        message["apns"] = {"headers": {"apns-collapse-id": collapse}}
    return {"message": message}


def _error_code(response: Any) -> str:
    """FCM's ``errorCode`` (``UNREGISTERED``...) or the status (``INVALID_ARGUMENT``...)."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return ""
    for detail in error.get("details", []) or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status", ""))


def _about_token(response: Any) -> bool:
    """Whether a 400 ``INVALID_ARGUMENT`` is about the token (not about our message)."""
    text = response.text.lower()
    return "message.token" in text or "registration token" in text


def push_one(
    device: Device, content: dict[str, str], *, kind: str, collapse: str = ""
) -> PushResult:
    """Send one message; its ``PushResult``. A GONE token is removed here."""
    from pawfile.notifications import devices
    from pawfile.notifications.devices import PushResult

    base = str(settings.FCM_ENDPOINT).rstrip("/")
    try:
        url = f"{base}/v1/projects/{project_id()}/messages:send"
        token = access_token()
        body = message_body(device, content, kind=kind, collapse=collapse)
        response = http_request(
            "POST", url, content=json.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=settings.PUSH_TIMEOUT, allow_private=settings.PUSH_ALLOW_PRIVATE_ADDRESSES,
        )  # fmt: skip
    except (HttpError, google_exceptions.GoogleAuthError) as exc:
        return PushResult(devices.RETRY, f"device {device.pk}: {type(exc).__name__}: {exc}")
    status = response.status_code
    if status == 200:
        devices.device_delivered(device_id=device.pk)
        try:
            name = str(response.json().get("name", ""))
        except ValueError:
            name = ""
        return PushResult(devices.OK, name or f"fcm:{device.pk}")
    code = _error_code(response)
    detail = f"device {device.pk}: FCM said {status} {code or response.text[:200]!r}"
    if code in GONE_CODES or (status == 404) or (status == 400 and _about_token(response)):
        devices.device_invalid(device_id=device.pk)
        return PushResult(devices.GONE, detail)
    if status == 401:
        credentials_forget()
    after = response.headers.get("Retry-After", "")
    if after:
        detail += f" (retry after {after} s)"
    return PushResult(devices.RETRY, detail, retry_after_seconds(after))


def deliver(message: OutboxMessage) -> None:
    """The outbox handler of ``notify.mobile``: send the deliveries in the payload to each of
    the recipient's app tokens (several merged ones as one message)."""
    from pawfile.notifications import devices

    ids = [int(i) for i in message.payload.get("deliveries", [])]
    recipient, notifications = devices.push_batch(delivery_ids=ids, channel=devices.MOBILE)
    if recipient is None or not notifications:
        return
    content = devices.push_content(notifications, locale=recipient.locale)
    kind = notifications[0].kind if len({n.kind for n in notifications}) == 1 else "digest"
    results = [
        push_one(device, content, kind=kind, collapse=devices.collapse_key(message.key))
        for device in devices.push_devices(user=recipient, webpush=False)
    ]
    devices.push_finish(ids=ids, user=recipient, webpush=False, results=results)


CHANNEL = Channel(
    name="mobile", label=_("Phone app"), setting="FCM_ENABLED", deliver=deliver,
    reaches=_reaches,
)  # fmt: skip
