"""``/api/v1/devices``: the caller's push devices. A mobile app registers its FCM token
after signing in (and again on every start: that keeps it from being removed as inactive);
the device goes when that sign-in's session logs out. Only the owner sees or removes a
device (anyone else's id is 404)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from allauth.headless.tokens.strategies.jwt.internal import session_key_from_sid
from django.http import HttpRequest
from ninja import Router, Status
from pydantic import BaseModel, ConfigDict, Field

from pawfile.accounts.apiauth import acting_user
from pawfile.accounts.tokens import access_token_decode
from pawfile.lib.api import LINE_PATTERN, Id, InputSchema, responses
from pawfile.notifications import devices
from pawfile.notifications.models import Device

router = Router(tags=["devices"])


class DeviceIn(InputSchema):
    platform: Device.Platform = Field(description="ios, android, or web (Firebase web SDK).")
    token: str = Field(
        min_length=1,
        max_length=devices.TOKEN_MAX,
        pattern=r"^[!-~]+$",
        description="The FCM registration token (printable ASCII, no spaces).",
    )
    label: str = Field(
        "",
        max_length=devices.LABEL_MAX,
        pattern=LINE_PATTERN,
        description="A name the person recognises, e.g. “Sam's phone”.",
    )


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    platform: str
    label: str
    web_push: bool = Field(description="A browser's web push subscription (else an FCM token).")
    created_at: dt.datetime
    last_seen_at: dt.datetime
    last_ok_at: dt.datetime | None


def _out(device: Device) -> dict[str, Any]:
    return {
        "id": device.pk, "platform": device.platform, "label": device.label,
        "web_push": device.is_webpush, "created_at": device.created_at,
        "last_seen_at": device.last_seen_at, "last_ok_at": device.last_ok_at,
    }  # fmt: skip


def session_key(request: HttpRequest) -> str | None:
    """The session this call belongs to: the one a bearer token names (its ``sid``), else
    the browser's."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        payload = access_token_decode(header[7:].strip())
        if payload is not None:
            return session_key_from_sid(str(payload["sid"]))
    session = getattr(request, "session", None)
    return getattr(session, "session_key", None)


@router.post(
    "/devices",
    response=responses({201: DeviceOut}),
    summary="Register this device for push",
)
def device_register(request: HttpRequest, payload: DeviceIn) -> Status[dict[str, Any]]:
    """Register (or refresh) the app's FCM token. Sending a known token again moves its
    ``last_seen_at`` (and moves it to you if another account had it)."""
    device = devices.device_register(
        user=acting_user(request),
        platform=payload.platform.value,
        token=payload.token,
        label=payload.label,
        session_key=session_key(request),
    )
    return Status(201, _out(device))


@router.get("/devices", response=responses({200: list[DeviceOut]}), summary="Your devices")
def device_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Your browsers and apps that receive push, newest first (tokens are not shown)."""
    return [_out(d) for d in devices.devices_of(user=acting_user(request))]


@router.delete("/devices/{device_id}", response=responses({204: None}), summary="Remove a device")
def device_remove(request: HttpRequest, device_id: Id) -> Status[None]:
    devices.device_remove(user=acting_user(request), device_id=device_id)
    return Status(204, None)
