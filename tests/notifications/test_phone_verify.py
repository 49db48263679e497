"""Phone verification on the phone channels page: a 6-digit code sent over the channel
being verified (through the outbox, to the local WhatsApp/Twilio fakes), stored only as an
HMAC, expiring after 10 minutes, five wrong tries, rate-limited; each person acts on
their own numbers only; a channel that is off is 404."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from pawfile.notifications.models import ChannelBlock, PhoneChannel
from pawfile.outbox.models import OutboxMessage
from tests.conftest import Cast
from tests.notifications.phonefakes import GraphFake, TwilioFake

pytestmark = pytest.mark.django_db

PAGE = "/notifications/phone/"


def code_in(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


def ask_code(client, channel: str, phone: str, run) -> object:
    with run(execute=True):
        return client.post(f"/notifications/phone/{channel}/code", {"phone": phone})


def test_whatsapp_code_arrives_and_verifies_the_number(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    client = cast.client_for("alice")
    response = ask_code(client, "whatsapp", "+34 600 11 12 22", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    [message] = graph.messages()
    assert message["to"] == "+34600111222" and message["type"] == "text"
    code = code_in(message["text"]["body"])
    row = PhoneChannel.objects.get(user=cast.alice)
    assert row.phone == "+34600111222" and row.verified_at is None
    assert code not in row.code_hash and len(row.code_hash) == 64  # an HMAC, not the code
    sent = OutboxMessage.objects.get(kind="whatsapp.code")
    assert "code" not in sent.payload  # dropped from the outbox once sent

    page = client.get(PAGE)
    assert b"The 6-digit code sent to" in page.content

    response = client.post("/notifications/whatsapp/verify", {"code": code})  # wrong path
    assert response.status_code == 404
    response = client.post("/notifications/phone/whatsapp/verify", {"code": code})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.verified_at is not None and row.opted_in and row.code_hash == ""
    page = client.get(PAGE)
    assert b"+34 600 11 12 22" in page.content and b"Verified number" in page.content


def test_the_code_goes_by_template_when_one_is_configured(
    cast: Cast, graph: GraphFake, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WHATSAPP_TEMPLATE_CODE = "pawfile_code"
    ask_code(
        cast.client_for("alice"), "whatsapp", "+34600111222", django_capture_on_commit_callbacks
    )
    [message] = graph.messages()
    assert message["type"] == "template"
    template = message["template"]
    assert template["name"] == "pawfile_code"
    body, button = template["components"]
    code = body["parameters"][0]["text"]
    assert re.fullmatch(r"\d{6}", code)
    assert button["sub_type"] == "url" and button["parameters"][0]["text"] == code


def test_sms_code_when_whatsapp_is_off(
    cast: Cast, twilio: TwilioFake, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WHATSAPP_ENABLED = False
    client = cast.client_for("bob")
    assert (
        client.post("/notifications/phone/whatsapp/code", {"phone": "+34600111222"}).status_code
        == 404
    )
    page = client.get(PAGE)
    assert b"phone-sms" in page.content and b"phone-whatsapp" not in page.content
    ask_code(client, "sms", "+1 415 555 2671", django_capture_on_commit_callbacks)
    [text] = twilio.texts()
    assert text["To"] == "+14155552671" and text["From"] == "+15005550006"
    response = client.post("/notifications/phone/sms/verify", {"code": code_in(text["Body"])})
    assert response.status_code == 302
    assert PhoneChannel.objects.get(user=cast.bob, channel="sms").verified_at is not None


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("", b"Enter your phone number."),
        ("600111222", b"country code"),
        ("+34 12", b"does not exist"),
        ("+99 not a number", b"not a phone number"),
    ],
)
def test_a_bad_number_is_a_clear_422(
    cast: Cast, graph: GraphFake, phone: str, message: bytes
) -> None:
    response = cast.client_for("alice").post("/notifications/phone/whatsapp/code", {"phone": phone})
    assert response.status_code == 422
    assert message in response.content
    assert not PhoneChannel.objects.exists() and not graph.requests


def test_wrong_codes_are_counted_and_the_sixth_try_is_refused(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    client = cast.client_for("alice")
    ask_code(client, "whatsapp", "+34600111222", django_capture_on_commit_callbacks)
    code = code_in(graph.messages()[0]["text"]["body"])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        response = client.post("/notifications/phone/whatsapp/verify", {"code": wrong})
        assert response.status_code == 422
        assert f"{left} tries left".encode() in response.content
    response = client.post("/notifications/phone/whatsapp/verify", {"code": wrong})
    assert b"Too many wrong codes" in response.content
    # Now even the right code is refused: a new one must be asked for.
    response = client.post("/notifications/phone/whatsapp/verify", {"code": code})
    assert response.status_code == 422 and b"Too many wrong codes" in response.content
    assert PhoneChannel.objects.get().verified_at is None


def test_an_expired_code_is_refused(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    client = cast.client_for("alice")
    ask_code(client, "whatsapp", "+34600111222", django_capture_on_commit_callbacks)
    code = code_in(graph.messages()[0]["text"]["body"])
    PhoneChannel.objects.update(code_expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.post("/notifications/phone/whatsapp/verify", {"code": code})
    assert response.status_code == 422 and b"expired" in response.content
    assert PhoneChannel.objects.get().verified_at is None


def test_code_sends_are_rate_limited(cast: Cast, graph: GraphFake, settings) -> None:
    settings.PHONE_CODE_RATELIMIT = "2/3600"
    client = cast.client_for("alice")
    for _ in range(2):
        assert (
            client.post("/notifications/phone/whatsapp/code", {"phone": "+34600111222"}).status_code
            == 302
        )
    response = client.post("/notifications/phone/whatsapp/code", {"phone": "+34600111222"})
    assert response.status_code == 429
    assert b"Too many codes" in response.content
    assert OutboxMessage.objects.filter(kind="whatsapp.code").count() == 2


def test_a_number_verified_by_someone_else_is_refused(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    PhoneChannel.objects.create(
        user=cast.bob, channel="whatsapp", phone="+34600111222", verified_at=timezone.now()
    )
    client = cast.client_for("alice")
    ask_code(client, "whatsapp", "+34600111222", django_capture_on_commit_callbacks)
    code = code_in(graph.messages()[0]["text"]["body"])
    response = client.post("/notifications/phone/whatsapp/verify", {"code": code})
    assert response.status_code == 409 and b"another account" in response.content


@pytest.mark.parametrize(
    ("theirs", "mine"),
    [
        ("+54 9 11 2345 6789", "+54 11 2345 6789"),  # Argentina: with and without the 9
        ("+54 11 2345 6789", "+54 9 11 2345 6789"),
    ],
    ids=["ar-9-first", "ar-9-second"],
)
def test_another_form_of_a_number_verified_by_someone_else_is_refused(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks, theirs: str, mine: str
) -> None:
    """Two valid forms of one number, which an inbound message would match to either
    account: the second account to verify it is refused, and its row stays unverified."""
    from pawfile.notifications.phone_numbers import phone_normalise

    bobs_phone = phone_normalise(theirs)
    PhoneChannel.objects.create(
        user=cast.bob, channel="whatsapp", phone=bobs_phone, verified_at=timezone.now()
    )
    client = cast.client_for("alice")
    ask_code(client, "whatsapp", mine, django_capture_on_commit_callbacks)
    [message] = graph.messages()
    assert message["to"] != bobs_phone  # the other form (both are valid), as typed
    response = client.post(
        "/notifications/phone/whatsapp/verify", {"code": code_in(message["text"]["body"])}
    )
    assert response.status_code == 409 and b"another account" in response.content
    alices = PhoneChannel.objects.get(user=cast.alice)
    assert alices.verified_at is None and not alices.opted_in
    assert PhoneChannel.objects.filter(verified_at__isnull=False).count() == 1


def test_opt_out_in_and_remove(cast: Cast, graph: GraphFake) -> None:
    row = PhoneChannel.objects.create(
        user=cast.alice, channel="whatsapp", phone="+34600111222",
        verified_at=timezone.now(), opted_in=True,
    )  # fmt: skip
    ChannelBlock.objects.create(user=cast.alice, channel="whatsapp", reason="131026")
    client = cast.client_for("alice")
    from pawfile.notifications.channels import whatsapp

    assert whatsapp.CHANNEL.reaches(cast.alice)
    client.post("/notifications/phone/whatsapp/opt", {"opted_in": "0"})
    row.refresh_from_db()
    assert not row.opted_in and not whatsapp.CHANNEL.reaches(cast.alice)
    client.post("/notifications/phone/whatsapp/opt", {"opted_in": "1"})
    row.refresh_from_db()
    assert row.opted_in and not ChannelBlock.objects.exists()  # on again lifts the block
    client.post("/notifications/phone/whatsapp/remove")
    assert not PhoneChannel.objects.exists()


# --- Access: each person acts on their own numbers; anonymous is sent to sign in ----------------


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "charlie"])
@pytest.mark.parametrize("action", ["code", "verify", "opt", "remove"])
def test_every_action_touches_only_the_actors_own_number(
    cast: Cast, graph: GraphFake, who: str, action: str
) -> None:
    theirs = PhoneChannel.objects.create(
        user=cast.alice if who != "alice" else cast.bob, channel="whatsapp",
        phone="+34600999888", verified_at=timezone.now(), opted_in=True,
    )  # fmt: skip
    before = PhoneChannel.objects.values().get(pk=theirs.pk)
    data = {"phone": "+34600111222", "code": "123456", "opted_in": "0"}
    response = cast.client_for(who).post(f"/notifications/phone/whatsapp/{action}", data)
    assert response.status_code in (302, 404, 422)
    assert PhoneChannel.objects.values().get(pk=theirs.pk) == before


@pytest.mark.parametrize(
    "path",
    [PAGE, "/notifications/phone/whatsapp/code", "/notifications/phone/whatsapp/verify"],
)
def test_anonymous_is_sent_to_sign_in(cast: Cast, graph: GraphFake, path: str) -> None:
    client = cast.client_for(None)
    response = client.post(path, {"phone": "+34600111222"}) if path != PAGE else client.get(path)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not PhoneChannel.objects.exists()


def test_the_channels_page_says_when_nothing_is_available(cast: Cast, settings) -> None:
    settings.WHATSAPP_ENABLED = False
    settings.SMS_ENABLED = False
    response = cast.client_for("alice").get(PAGE)
    assert response.status_code == 200 and b"not available on this site" in response.content
    assert cast.client_for("alice").post("/notifications/phone/sms/code").status_code == 404


def test_export_and_deletion_include_phone_channels(cast: Cast) -> None:
    from pawfile.notifications import phone

    PhoneChannel.objects.create(
        user=cast.alice, channel="sms", phone="+14155552671", verified_at=timezone.now(),
        code_hash="x" * 64,
    )  # fmt: skip
    section = phone.export_rows(cast.alice)
    [row] = section.rows["phone_channels"]
    assert row["phone"] == "+14155552671" and row["channel"] == "sms"
    assert "code_hash" not in row
    from pawfile.lib import registry

    assert "notifications.phone" in registry._registry.exports
    assert "notifications.phone" in registry._registry.deletions
    registry._registry.deletions["notifications.phone"].account(cast.alice)
    assert not PhoneChannel.objects.exists()


# --- The API: /api/v1/phone-channels -----------------------------------------------------------


def api_for(cast: Cast, who: str | None) -> Any:
    from tests.api.conftest import ApiClient, access_token

    return ApiClient(access_token(getattr(cast, who).email) if who else None)


def test_the_api_sends_a_code_verifies_opts_and_removes(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    api = api_for(cast, "bob")
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post("/phone-channels/whatsapp/code", {"phone": "+34 600 11 12 22"})
    assert sent.status_code == 202, sent.content
    assert sent.json()["code_pending"] and not sent.json()["verified"]
    code = code_in(graph.messages()[0]["text"]["body"])
    bad = api.post(
        "/phone-channels/whatsapp/verify", {"code": "000000" if code != "000000" else "111111"}
    )
    assert bad.status_code == 422 and "tries left" in bad.json()["error"]["fields"]["code"][0]
    done = api.post("/phone-channels/whatsapp/verify", {"code": code})
    assert done.status_code == 200 and done.json()["verified"] and done.json()["opted_in"]
    assert [row["phone"] for row in api.get("/phone-channels").json()] == ["+34600111222"]
    off = api.patch("/phone-channels/whatsapp", {"opted_in": False})
    assert off.status_code == 200 and off.json()["opted_in"] is False
    assert api.delete("/phone-channels/whatsapp").status_code == 204
    assert api.get("/phone-channels").json() == []
    assert api.delete("/phone-channels/whatsapp").status_code == 404


def test_the_api_refuses_bad_input_with_a_message(cast: Cast, graph: GraphFake, settings) -> None:
    api = api_for(cast, "alice")
    bad = api.post("/phone-channels/whatsapp/code", {"phone": "12"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"]["phone"]
    assert api.post("/phone-channels/telegram/code", {"phone": "+34600111222"}).status_code in (
        404,
        422,
    )
    settings.SMS_ENABLED = False
    off = api.post("/phone-channels/sms/code", {"phone": "+34600111222"})
    assert off.status_code == 404 and "not available" in off.json()["error"]["message"]
    settings.PHONE_CODE_RATELIMIT = "1/3600"
    assert api.post("/phone-channels/whatsapp/code", {"phone": "+34600111222"}).status_code == 202
    too_many = api.post("/phone-channels/whatsapp/code", {"phone": "+34600111222"})
    assert too_many.status_code == 429 and "Too many codes" in too_many.json()["error"]["message"]


@pytest.mark.parametrize("who", ["bob", "carol", "charlie"])
def test_the_api_shows_and_changes_only_the_callers_own_number(
    cast: Cast, graph: GraphFake, who: str
) -> None:
    alices = PhoneChannel.objects.create(
        user=cast.alice, channel="whatsapp", phone="+34600999888",
        verified_at=timezone.now(), opted_in=True,
    )  # fmt: skip
    before = PhoneChannel.objects.values().get(pk=alices.pk)
    api = api_for(cast, who)
    assert api.get("/phone-channels").json() == []
    assert api.patch("/phone-channels/whatsapp", {"opted_in": False}).status_code == 404
    assert api.delete("/phone-channels/whatsapp").status_code == 404
    assert api.post("/phone-channels/whatsapp/verify", {"code": "123456"}).status_code == 404
    assert PhoneChannel.objects.values().get(pk=alices.pk) == before


def test_the_api_needs_a_signed_in_caller(cast: Cast, graph: GraphFake) -> None:
    api = api_for(cast, None)
    assert api.get("/phone-channels").status_code == 401
    assert api.post("/phone-channels/whatsapp/code", {"phone": "+34600111222"}).status_code == 401
    assert not PhoneChannel.objects.exists()


def test_a_number_whatsapp_cannot_reach_is_told_in_the_inbox(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    from pawfile.notifications.models import Notification

    graph.script(400, "error_131026.json")
    ask_code(
        cast.client_for("alice"), "whatsapp", "+34600111222", django_capture_on_commit_callbacks
    )
    sent = OutboxMessage.objects.get(kind="whatsapp.code")
    assert sent.status == "failed" and "131026" in sent.last_error
    notice = Notification.objects.get(
        recipient=cast.alice, event_key__startswith="phone-undeliverable"
    )
    assert notice.title == "We could not send a code to +34 600 11 12 22"
    assert not ChannelBlock.objects.exists()  # nothing to block: the number was never verified
