"""Texts sent to our number (Twilio's incoming-message webhook, signed with
``X-Twilio-Signature``): STOP turns texts off for that person and records it, START turns
them on again (lifting a block), HELP is answered in TwiML; each message acts once; a bad
signature has no effect. Numbers match in their common variants (Mexico's ``+52 1``,
Argentina's ``+54 9``, Brazil's ninth digit), for SMS and for WhatsApp's sender too."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from django.conf import settings as django_settings
from django.test import Client

from pawfile.lib.errors import Invalid
from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import ChannelBlock, Delivery, Notification, PhoneChannel
from pawfile.notifications.phone_numbers import phone_normalise, phone_variants
from pawfile.notifications.services import notification_send
from pawfile.notifications.webhooks import twilio_signature
from pawfile.outbox.models import OutboxMessage
from tests.conftest import Cast
from tests.notifications.phonefakes import (
    TWILIO_SID,
    TWILIO_TOKEN,
    GraphFake,
    TwilioFake,
    fixture_text,
    twilio_tampered,
    verified_phone,
)

pytestmark = pytest.mark.django_db

HOOK = "/hooks/twilio/inbound"
MX_STORED = "+525512345678"  # as phone_normalise stores it
MX_OLD = "+5215512345678"  # as some carriers and WhatsApp still send it
_sids = itertools.count(1)


def inbound(body: str, sender: str, *, opt_out_type: str = "", sid: str = "") -> dict[str, str]:
    """The form Twilio posts for a text ``body`` from ``sender`` (saved payload)."""
    name = "inbound_opt_out.txt" if opt_out_type else "inbound_message.txt"
    text = fixture_text(
        "twilio", name, sid=sid or f"SM{next(_sids):032d}", account_sid=TWILIO_SID,
        body=quote(body), from_country="MX", opt_out_type=opt_out_type,
        **{"from": quote(sender)},
    ).strip()  # fmt: skip
    return dict(parse_qsl(text, keep_blank_values=True))


def post(params: dict[str, str], *, signature: str | None = "auto") -> Any:
    url = django_settings.PAWFILE_BASE_URL + HOOK
    if signature == "auto":
        signature = twilio_signature(url, {k: [v] for k, v in params.items()}, TWILIO_TOKEN)
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature is not None else {}
    return Client(enforce_csrf_checks=True).post(
        HOOK, data=urlencode(params), content_type="application/x-www-form-urlencoded",
        **headers,
    )  # fmt: skip


def test_stop_from_the_old_mexican_form_turns_texts_off_and_says_so(
    cast: Cast, twilio: TwilioFake, django_capture_on_commit_callbacks
) -> None:
    row = verified_phone(cast.alice, "sms", MX_STORED)
    response = post(inbound("Stop", MX_OLD))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response></Response>" in response.content  # Twilio confirms STOP itself
    row.refresh_from_db()
    assert not row.opted_in and row.stopped_at is not None
    note = Notification.objects.get(recipient=cast.alice, event_key__startswith="sms-stop:")
    assert note.title == "Text messages are off" and "START" in note.body
    page = cast.client_for("alice").get("/notifications/phone/").content.decode()
    assert "You answered STOP to our texts." in page

    # No text goes to her any more.
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(
            recipient=cast.alice, kind=Kind.REMINDER, title="Rex: pill time", body="",
            event_key="reminder:1",
        )  # fmt: skip
    assert not twilio.requests and not Delivery.objects.filter(channel="sms").exists()


def test_turning_texts_on_after_stop_says_to_text_start_and_sends_nothing_until_then(
    cast: Cast, twilio: TwilioFake, django_capture_on_commit_callbacks
) -> None:
    """After STOP the carrier refuses our texts until START: turning SMS on again in the
    settings records the wish, but the pages say the channel is blocked by the carrier and
    that the person must text START to our number first, and no text is tried (nor a
    block lifted) until the START arrives."""
    row = verified_phone(cast.alice, "sms", MX_STORED)
    post(inbound("STOP", MX_STORED))
    ChannelBlock.objects.create(user=cast.alice, channel="sms", reason="21610 unsubscribed")
    client = cast.client_for("alice")
    response = client.post("/notifications/phone/sms/opt", {"opted_in": "1"}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Saved, but your carrier still blocks our texts" in page
    assert "Blocked by your carrier" in page
    assert "Text START to +1 500-555-0006 first" in page
    row.refresh_from_db()
    assert row.opted_in and row.stopped_at is not None
    assert ChannelBlock.objects.filter(user=cast.alice, channel="sms").exists()
    from tests.notifications.test_phone_verify import api_for

    [listed] = api_for(cast, "alice").get("/phone-channels").json()
    assert listed["opted_in"] is True and listed["blocked_by_carrier"] is True

    # The notification settings say it too, and its "turn on again" cannot lift the block.
    settings_page = client.get("/notifications/settings/").content.decode()
    assert 'id="sms-stopped"' in settings_page and "text START to +1 500-555-0006" in settings_page
    assert 'name="unblock" value="sms"' not in settings_page
    client.post("/notifications/settings/", {"unblock": "sms", "on__reminder__inapp": "on"})
    assert ChannelBlock.objects.filter(user=cast.alice, channel="sms").exists()

    with django_capture_on_commit_callbacks(execute=True):
        notification_send(
            recipient=cast.alice, kind=Kind.REMINDER, title="Rex: pill time", body="",
            event_key="reminder:stopped",
        )  # fmt: skip
    assert not twilio.requests and not Delivery.objects.filter(channel="sms").exists()

    # In Spanish.
    spanish = cast.client_for("alice")
    spanish.cookies["django_language"] = "es"
    page_es = spanish.get("/notifications/phone/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Envía START al +1 500-555-0006" in page_es

    # START arrives: texts go again and the pages say nothing more.
    post(inbound("START", MX_OLD))
    row.refresh_from_db()
    assert row.opted_in and row.stopped_at is None
    assert api_for(cast, "alice").get("/phone-channels").json()[0]["blocked_by_carrier"] is False
    page = client.get("/notifications/phone/").content.decode()
    assert "Blocked by your carrier" not in page and "Text START" not in page
    assert 'id="sms-stopped"' not in client.get("/notifications/settings/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(
            recipient=cast.alice, kind=Kind.REMINDER, title="Rex: pill time", body="",
            event_key="reminder:started",
        )  # fmt: skip
    assert len(twilio.texts()) == 1


def test_a_new_number_is_not_held_by_the_old_ones_stop(cast: Cast, twilio: TwilioFake) -> None:
    from pawfile.notifications import phone

    row = verified_phone(cast.alice, "sms", MX_STORED)
    post(inbound("STOP", MX_STORED))
    row = phone.phone_code_send(user=cast.alice, channel="sms", phone="+34 600 111 222")
    assert row.stopped_at is None and not phone.sms_stopped(row)


def test_start_turns_texts_on_again_and_lifts_a_block(
    cast: Cast, twilio: TwilioFake, django_capture_on_commit_callbacks
) -> None:
    row = verified_phone(cast.alice, "sms", MX_STORED)
    post(inbound("STOP", MX_STORED))
    ChannelBlock.objects.create(user=cast.alice, channel="sms", reason="21610 unsubscribed")
    response = post(inbound(" unstop! ", MX_OLD))
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.opted_in and row.stopped_at is None
    assert not ChannelBlock.objects.filter(user=cast.alice, channel="sms").exists()
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(
            recipient=cast.alice, kind=Kind.REMINDER, title="Rex: pill time", body="",
            event_key="reminder:2",
        )  # fmt: skip
    assert len(twilio.texts()) == 1
    assert Delivery.objects.get(channel="sms").status == DeliveryStatus.SENT


def test_help_is_answered_in_twiml_to_anyone(cast: Cast, twilio: TwilioFake) -> None:
    response = post(inbound("help", "+14155552671"))  # a number nobody verified
    assert response.status_code == 200
    text = response.content.decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "Reply STOP" in text and "/notifications/phone/" in text


def test_help_in_the_senders_language(cast: Cast, twilio: TwilioFake) -> None:
    cast.alice.locale = "es"
    cast.alice.save(update_fields=["locale"])
    verified_phone(cast.alice, "sms", MX_STORED)
    text = post(inbound("AYUDA", MX_OLD)).content.decode()
    assert "<Message>" in text and "STOP" in text
    assert "Reply STOP" not in text  # the Spanish text


def test_advanced_opt_out_names_the_keyword_and_answers_help_itself(
    cast: Cast, twilio: TwilioFake
) -> None:
    row = verified_phone(cast.alice, "sms", MX_STORED)
    # A keyword configured in Twilio (here "desuscribir") arrives with OptOutType=STOP.
    assert post(inbound("desuscribir", MX_STORED, opt_out_type="STOP")).status_code == 200
    row.refresh_from_db()
    assert not row.opted_in
    answer = post(inbound("info", MX_STORED, opt_out_type="HELP")).content
    assert b"<Message>" not in answer  # Twilio answered it


def test_other_texts_and_sentences_have_no_effect(cast: Cast, twilio: TwilioFake) -> None:
    row = verified_phone(cast.alice, "sms", MX_STORED)
    for body in ("stop texting me", "hola", ""):
        response = post(inbound(body, MX_STORED))
        assert response.status_code == 200 and b"<Message>" not in response.content
    row.refresh_from_db()
    assert row.opted_in and row.stopped_at is None


def test_a_repeated_webhook_acts_once(cast: Cast, twilio: TwilioFake) -> None:
    row = verified_phone(cast.alice, "sms", MX_STORED)
    stop = inbound("STOP", MX_STORED, sid="SM" + "7" * 32)
    post(stop)
    PhoneChannel.objects.filter(pk=row.pk).update(opted_in=True)  # turned on in settings
    assert post(stop).status_code == 200  # Twilio delivered the same message again
    row.refresh_from_db()
    assert row.opted_in
    assert Notification.objects.filter(event_key__startswith="sms-stop:").count() == 1


@pytest.mark.parametrize("tamper", ["unsigned", "wrong token", "one byte changed", "request host"])
def test_a_bad_signature_is_refused_with_no_effect(
    cast: Cast, twilio: TwilioFake, tamper: str
) -> None:
    row = verified_phone(cast.alice, "sms", MX_STORED)
    params = inbound("STOP", MX_STORED)
    signature = twilio_tampered(django_settings.PAWFILE_BASE_URL + HOOK, params, tamper,
                                change="From")  # fmt: skip
    response = post(params, signature=signature)
    assert response.status_code == (401 if tamper == "unsigned" else 403)
    row.refresh_from_db()
    assert row.opted_in and row.stopped_at is None


def test_the_inbound_hook_is_404_when_sms_is_off(settings) -> None:
    settings.SMS_ENABLED = False
    assert post({"From": MX_STORED, "Body": "STOP"}, signature="x").status_code == 404


def test_stop_for_another_channels_number_does_nothing(cast: Cast, twilio: TwilioFake) -> None:
    row = verified_phone(cast.alice, "whatsapp", MX_STORED)
    post(inbound("STOP", MX_STORED))
    row.refresh_from_db()
    assert row.opted_in and row.stopped_at is None


# --- Phone number variants ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+52 1 55 1234 5678", MX_STORED),  # Mexico's old mobile prefix
        ("+52 55 1234 5678", MX_STORED),
        ("0052 (55) 1234-5678", MX_STORED),
        ("+54 9 11 2345-6789", "+5491123456789"),
        ("+55 11 91234-5678", "+5511912345678"),
        ("+34 600.111.222", "+34600111222"),
    ],
)
def test_typed_numbers_are_stored_in_one_form(typed: str, stored: str) -> None:
    assert phone_normalise(typed) == stored


def test_a_number_that_does_not_exist_is_still_refused() -> None:
    with pytest.raises(Invalid):
        phone_normalise("+52 1 12 3")


@pytest.mark.parametrize(
    ("number", "variants"),
    [
        (MX_STORED, [MX_STORED, MX_OLD]),
        (MX_OLD, [MX_OLD, MX_STORED]),
        ("+5491123456789", ["+5491123456789", "+541123456789"]),
        ("+5511912345678", ["+5511912345678", "+551112345678"]),
        ("+551182345678", ["+551182345678", "+5511982345678"]),
        ("+34600111222", ["+34600111222"]),
        ("not a number", ["not a number"]),
    ],
)
def test_variants(number: str, variants: list[str]) -> None:
    assert phone_variants(number) == variants


def test_a_whatsapp_message_from_the_old_mexican_form_finds_its_sender(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    from tests.notifications.test_whatsapp_webhook import body_of
    from tests.notifications.test_whatsapp_webhook import post as wa_post

    verified_phone(cast.alice, "whatsapp", MX_STORED)
    body = body_of("webhook_text.json", **{"from": MX_OLD.lstrip("+")})
    assert wa_post(body, django_capture_on_commit_callbacks).json() == {"handled": 1}
    assert OutboxMessage.objects.filter(kind="whatsapp.reply").count() == 1
