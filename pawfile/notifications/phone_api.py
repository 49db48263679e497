"""``/api/v1/phone-channels``: the caller's WhatsApp and SMS numbers (as the phone page).

Every operation acts on the caller's own number only (there is no id of anyone else's to
name). A channel the site has off is 404; a bad number or code is 422 with the reason in
``fields``; too many codes is 429.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status
from pydantic import BaseModel, Field

from pawfile.accounts.apiauth import acting_user
from pawfile.lib.api import InputSchema, responses
from pawfile.lib.errors import NotFound
from pawfile.notifications import phone, phone_sending
from pawfile.notifications.models import PhoneChannel

router = Router(tags=["notifications"])

ChannelName = Literal["whatsapp", "sms"]


class PhoneChannelOut(BaseModel):
    channel: str
    phone: str = Field(description="E.164, e.g. +34600111222.")
    verified: bool
    opted_in: bool = Field(description="Notifications go to this number.")
    code_pending: bool = Field(description="A code was sent and can still be typed.")
    blocked_by_carrier: bool = Field(
        default=False,
        description="SMS only: the person answered STOP, so the carrier refuses our texts "
        "and none is sent, even with `opted_in`, until they text START to our number.",
    )
    sent_this_month: int
    verified_at: dt.datetime | None


class CodeIn(InputSchema):
    phone: str = Field(max_length=40, description="With its country code: +34 600 111 222.")


class VerifyIn(InputSchema):
    code: str = Field(max_length=12, description="The 6 digits received.")


class OptIn(InputSchema):
    opted_in: bool


def _out(row: PhoneChannel) -> dict[str, Any]:
    return {
        "channel": row.channel, "phone": row.phone, "verified": row.verified_at is not None,
        "opted_in": row.opted_in, "code_pending": bool(row.code_hash),
        "blocked_by_carrier": phone.sms_stopped(row),
        "sent_this_month": phone_sending.month_used(row, now=dt.datetime.now(dt.UTC)),
        "verified_at": row.verified_at,
    }  # fmt: skip


def _offered(channel: str) -> None:
    if channel not in phone.channels_offered():
        raise NotFound(_("This channel is not available on this site."))


@router.get(
    "/phone-channels", response=responses({200: list[PhoneChannelOut]}), summary="Your numbers"
)
def phone_channel_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Your numbers on the channels this site offers."""
    rows = phone.phone_channels_of(acting_user(request))
    return [_out(rows[c]) for c in phone.channels_offered() if c in rows]


@router.post(
    "/phone-channels/{channel}/code",
    response=responses({202: PhoneChannelOut}),
    summary="Send a verification code",
)
def phone_channel_code(
    request: HttpRequest, channel: ChannelName, payload: CodeIn
) -> Status[dict[str, Any]]:
    """Send a 6-digit code to ``phone`` over ``channel`` (valid 10 minutes, 5 tries). A new
    number replaces your old one on that channel."""
    row = phone.phone_code_send(user=acting_user(request), channel=channel, phone=payload.phone)
    return Status(202, _out(row))


@router.post(
    "/phone-channels/{channel}/verify",
    response=responses({200: PhoneChannelOut}),
    summary="Verify the number with its code",
)
def phone_channel_verify(
    request: HttpRequest, channel: ChannelName, payload: VerifyIn
) -> dict[str, Any]:
    return _out(phone.phone_code_check(user=acting_user(request), channel=channel,
                                       code=payload.code))  # fmt: skip


@router.patch(
    "/phone-channels/{channel}",
    response=responses({200: PhoneChannelOut}),
    summary="Turn notifications to a number on or off",
)
def phone_channel_opt(request: HttpRequest, channel: ChannelName, payload: OptIn) -> dict[str, Any]:
    _offered(channel)
    return _out(phone.phone_opt(user=acting_user(request), channel=channel,
                                opted_in=payload.opted_in))  # fmt: skip


@router.delete(
    "/phone-channels/{channel}", response=responses({204: None}), summary="Remove a number"
)
def phone_channel_remove(request: HttpRequest, channel: ChannelName) -> Status[None]:
    phone.phone_remove(user=acting_user(request), channel=channel)
    return Status(204, None)
