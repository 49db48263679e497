"""The WhatsApp webhook: Meta's handshake, the signature checked on the raw body before
anything is parsed (unsigned → 401, wrong secret or one byte changed → 403, no effect),
"Done" / "Snooze 1 h" acting on the reminder for the verified sender only, the menu that
sends a pet's PDF report or QR code (uploaded to the Graph fake), statuses updating the
delivery, and duplicate deliveries having one effect."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from pawfile.accounts.choices import Role
from pawfile.accounts.models import Membership
from pawfile.lib.ratelimit import Rule
from pawfile.notifications import webhooks
from pawfile.notifications.channels import whatsapp
from pawfile.notifications.choices import DeliveryStatus
from pawfile.notifications.models import (
    ChannelBlock,
    Delivery,
    Notification,
    PhoneChannel,
    WebhookReceipt,
)
from pawfile.outbox.models import OutboxMessage
from pawfile.reminders import firing, services
from pawfile.reminders.choices import OccurrenceStatus
from pawfile.reminders.models import Occurrence
from tests.conftest import Cast
from tests.notifications.phonefakes import (
    WA_APP_SECRET,
    WA_VERIFY_TOKEN,
    GraphFake,
    fixture_text,
    verified_phone,
)

pytestmark = pytest.mark.django_db

ALICE = "+34600111222"
HOOK = "/hooks/whatsapp"
_ids = itertools.count(1)


def sign(body: bytes, secret: str = WA_APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(name: str, **values: str) -> bytes:
    values.setdefault("wamid", f"wamid.IN{next(_ids):06d}")
    values.setdefault("from", ALICE.lstrip("+"))
    return json.dumps(json.loads(fixture_text("whatsapp", name, **values))).encode()


def post(body: bytes, run: Any, *, signature: str | None = "auto") -> Any:
    headers = {}
    if signature == "auto":
        signature = sign(body)
    if signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    with run(execute=True):
        return Client(enforce_csrf_checks=True).post(
            HOOK, data=body, content_type="application/json", **headers
        )


def fired(cast: Cast, pet: Any, run: Any, **fields: Any) -> tuple[Any, Notification, dict]:
    """A reminder fired to alice's WhatsApp: the reminder, her notification, the message."""
    now = timezone.now()
    reminder = services.reminder_create(
        actor=cast.alice, pet=pet, now=now, title="Give Rex his pill",
        start_date=(now + dt.timedelta(days=1)).date(), start_time=dt.time(9, 0),
        timezone="Europe/Madrid", rule="FREQ=DAILY;INTERVAL=1", **fields,
    )  # fmt: skip
    with run(execute=True):
        firing.reminders_fire_due(now=reminder.next_fire_at)
    recipient_id = fields.get("assignee_id", cast.alice.pk)
    notification = Notification.objects.get(
        event_key__startswith=f"reminder:{reminder.pk}:", recipient_id=recipient_id
    )
    return reminder, notification, graph_last_template(notification)


def graph_last_template(notification: Notification) -> dict:
    delivery = Delivery.objects.get(notification=notification, channel="whatsapp")
    return {"wamid": delivery.provider_id}


def payload_of(action: str, notification: Notification) -> str:
    return whatsapp.button_id(action, str(notification.pk))


# --- Handshake and signatures ------------------------------------------------------------------


def test_the_handshake_echoes_the_challenge_only_with_the_verify_token(graph: GraphFake) -> None:
    client = Client()
    ok = client.get(HOOK, {"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY_TOKEN,
                           "hub.challenge": "1158201444"})  # fmt: skip
    assert ok.status_code == 200 and ok.content == b"1158201444"
    wrong = client.get(HOOK, {"hub.mode": "subscribe", "hub.verify_token": "guess",
                              "hub.challenge": "1158201444"})  # fmt: skip
    assert wrong.status_code == 403 and b"1158201444" not in wrong.content
    assert client.get(HOOK, {"hub.challenge": "x"}).status_code == 403


def test_the_hook_is_404_when_whatsapp_is_off(settings) -> None:
    settings.WHATSAPP_ENABLED = False
    assert Client().get(HOOK).status_code == 404
    assert Client().post(HOOK, data=b"{}", content_type="application/json").status_code == 404


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        ("unsigned", 401),
        ("wrong secret", 403),
        ("one byte changed", 403),
        ("not hex", 403),
    ],
)
def test_a_bad_signature_is_refused_before_parsing_and_has_no_effect(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks,
    tamper: str, status: int,
) -> None:  # fmt: skip
    verified_phone(cast.alice, "whatsapp", ALICE)
    _reminder, notification, _ = fired(cast, pet, django_capture_on_commit_callbacks)
    sent_before = len(graph.messages())
    body = body_of("webhook_button_reply.json", reply_id=payload_of("done", notification),
                   title="Done")  # fmt: skip
    signature: str | None = sign(body)
    if tamper == "unsigned":
        signature = None
    elif tamper == "wrong secret":
        signature = sign(body, "another-secret")
    elif tamper == "one byte changed":
        body = body.replace(b'"Done"', b'"Dono"', 1)  # signed before the change
    else:
        signature = "sha256=zz" + sign(body)[9:]
    response = post(body, django_capture_on_commit_callbacks, signature=signature)
    assert response.status_code == status
    assert not WebhookReceipt.objects.exists()
    assert Occurrence.objects.get().status == OccurrenceStatus.FIRED
    assert not OutboxMessage.objects.filter(kind="whatsapp.reply").exists()
    assert len(graph.messages()) == sent_before


def test_a_signed_body_that_is_not_json_is_400(graph: GraphFake) -> None:
    body = b"not json"
    response = Client().post(
        HOOK, data=body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sign(body)
    )
    assert response.status_code == 400


# --- Buttons -----------------------------------------------------------------------------------


def test_done_marks_the_occurrence_done_and_answers(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "whatsapp", ALICE)
    reminder, notification, _ = fired(cast, pet, django_capture_on_commit_callbacks)
    body = body_of("webhook_button_reply.json", reply_id=payload_of("done", notification),
                   title="Done")  # fmt: skip
    response = post(body, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    occurrence = Occurrence.objects.get(reminder=reminder)
    assert occurrence.status == OccurrenceStatus.DONE and occurrence.by == cast.alice
    history = list(services.selectors.occurrence_list(user=cast.alice, reminder=reminder))
    assert [(o.status, o.by_id) for o in history] == [(OccurrenceStatus.DONE, cast.alice.pk)]
    answer = graph.messages()[-1]
    assert answer["type"] == "text" and "Done: “Give Rex his pill”" in answer["text"]["body"]
    assert PhoneChannel.objects.get(user=cast.alice).last_inbound_at is not None


def test_a_template_quick_reply_snoozes_the_occurrence_for_an_hour(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "whatsapp", ALICE)
    reminder, notification, _ = fired(cast, pet, django_capture_on_commit_callbacks)
    before = timezone.now()
    body = body_of("webhook_template_button.json",
                   reply_id=payload_of("snooze1h", notification), title="Snooze 1 h")  # fmt: skip
    assert post(body, django_capture_on_commit_callbacks).status_code == 200
    occurrence = Occurrence.objects.get(reminder=reminder)
    assert occurrence.status == OccurrenceStatus.SNOOZED and occurrence.by == cast.alice
    reminder.refresh_from_db()
    assert reminder.snoozed_until is not None
    assert dt.timedelta(minutes=59) < reminder.snoozed_until - before < dt.timedelta(minutes=61)
    assert "Snoozed" in graph.messages()[-1]["text"]["body"]


def test_a_duplicate_delivery_has_one_effect(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "whatsapp", ALICE)
    reminder, notification, _ = fired(cast, pet, django_capture_on_commit_callbacks)
    body = body_of("webhook_template_button.json",
                   reply_id=payload_of("snooze1h", notification), title="Snooze 1 h")  # fmt: skip
    assert post(body, django_capture_on_commit_callbacks).status_code == 200
    reminder.refresh_from_db()
    first_until = reminder.snoozed_until
    sent = len(graph.messages())
    again = post(body, django_capture_on_commit_callbacks)  # Meta delivers it again
    assert again.status_code == 200 and again.json() == {"handled": 0}
    reminder.refresh_from_db()
    assert reminder.snoozed_until == first_until  # not snoozed a second time
    assert WebhookReceipt.objects.count() == 1
    assert OutboxMessage.objects.filter(kind="whatsapp.reply").count() == 1
    assert len(graph.messages()) == sent


def test_an_unverified_sender_is_ignored_with_200(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "whatsapp", ALICE)
    _reminder, notification, _ = fired(cast, pet, django_capture_on_commit_callbacks)
    PhoneChannel.objects.create(user=cast.bob, channel="whatsapp", phone="+34600333444")
    for sender in ("34600333444", "34699999999"):  # pending code, and unknown
        body = body_of("webhook_button_reply.json", reply_id=payload_of("done", notification),
                       title="Done", **{"from": sender})  # fmt: skip
        response = post(body, django_capture_on_commit_callbacks)
        assert response.status_code == 200 and response.json() == {"handled": 0}
    assert Occurrence.objects.get().status == OccurrenceStatus.FIRED
    assert not WebhookReceipt.objects.exists()


def test_someone_elses_button_or_a_forged_one_does_nothing(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "whatsapp", ALICE)
    verified_phone(cast.bob, "whatsapp", "+34600333444")
    fired(cast, pet, django_capture_on_commit_callbacks)
    alices = Notification.objects.get(recipient=cast.alice, kind="reminder")
    # bob presses a button carrying alice's notification
    body = body_of("webhook_button_reply.json", reply_id=payload_of("done", alices),
                   title="Done", **{"from": "34600333444"})  # fmt: skip
    assert post(body, django_capture_on_commit_callbacks).status_code == 200
    assert "no longer works" in graph.messages()[-1]["text"]["body"]
    # a payload not signed by us
    forged = f"pf1:done:{alices.pk}:" + "0" * 20
    body = body_of("webhook_button_reply.json", reply_id=forged, title="Done")
    assert post(body, django_capture_on_commit_callbacks).status_code == 200
    assert "no longer works" in graph.messages()[-1]["text"]["body"]
    assert Occurrence.objects.get().status == OccurrenceStatus.FIRED


def test_a_viewer_is_refused_by_the_reminder_rules(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.carol, "whatsapp", "+34600555666")
    # carol (a viewer) is the assignee, so she is the one notified; then she presses Done
    reminder, notification, _ = fired(cast, pet, django_capture_on_commit_callbacks,
                                      assignee_id=cast.carol.pk)  # fmt: skip
    assert notification.recipient == cast.carol
    body = body_of("webhook_button_reply.json", reply_id=payload_of("done", notification),
                   title="Done", **{"from": "34600555666"})  # fmt: skip
    assert post(body, django_capture_on_commit_callbacks).status_code == 200
    assert Occurrence.objects.get(reminder=reminder).status == OccurrenceStatus.FIRED
    assert graph.messages()[-1]["type"] == "text"


def test_a_former_member_cannot_act(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.bob, "whatsapp", "+34600333444")
    reminder, notification, _ = fired(cast, pet, django_capture_on_commit_callbacks,
                                      assignee_id=cast.bob.pk)  # fmt: skip
    Membership.objects.filter(user=cast.bob, role=Role.CARETAKER).delete()
    body = body_of("webhook_button_reply.json", reply_id=payload_of("done", notification),
                   title="Done", **{"from": "34600333444"})  # fmt: skip
    assert post(body, django_capture_on_commit_callbacks).status_code == 200
    assert Occurrence.objects.get(reminder=reminder).status == OccurrenceStatus.FIRED


# --- The menu ----------------------------------------------------------------------------------


def test_menu_lists_each_pets_report_and_qr_code(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "whatsapp", ALICE)
    body = body_of("webhook_text.json", text="Menu")
    assert post(body, django_capture_on_commit_callbacks).status_code == 200
    [answer] = graph.messages()
    assert answer["type"] == "interactive" and answer["interactive"]["type"] == "list"
    rows = answer["interactive"]["action"]["sections"][0]["rows"]
    assert {(r["title"], r["description"]) for r in rows} == {
        ("PDF report", "Rex"), ("QR code", "Rex"),
    }  # fmt: skip
    assert all(whatsapp.button_parse(r["id"]) for r in rows)


def test_anything_else_gets_the_help_text(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "whatsapp", ALICE)
    post(body_of("webhook_text.json", text="hello there"), django_capture_on_commit_callbacks)
    assert "*menu*" in graph.messages()[-1]["text"]["body"]


def test_the_report_row_uploads_the_pdf_and_sends_it_as_a_document(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.alice, "whatsapp", ALICE)
    row_id = whatsapp.button_id("menu", f"report.{pet.pk}")
    body = body_of("webhook_list_reply.json", reply_id=row_id, title="PDF report")
    assert post(body, django_capture_on_commit_callbacks).status_code == 200
    [upload] = graph.uploads()
    filename, mime, content = upload.files["file"]
    assert mime == "application/pdf" and content.startswith(b"%PDF")
    assert filename == "rex-health-report.pdf"
    assert upload.form["type"] == ["application/pdf"]
    assert upload.headers["Authorization"].startswith("Bearer ")
    [message] = graph.messages()
    assert message["type"] == "document"
    assert message["document"]["filename"] == "rex-health-report.pdf"
    assert message["document"]["id"].isdigit()


def test_the_qr_row_sends_the_tags_image_or_says_there_is_none(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    from pawfile.qr.models import QRCode

    verified_phone(cast.alice, "whatsapp", ALICE)
    row_id = whatsapp.button_id("menu", f"qr.{pet.pk}")
    post(body_of("webhook_list_reply.json", reply_id=row_id, title="QR code"),
         django_capture_on_commit_callbacks)  # fmt: skip
    assert "has no QR tag yet" in graph.messages()[-1]["text"]["body"]
    QRCode.objects.create(
        id="TESTQR01", title="Rex", target_kind="pet_page", target_ref=pet.pk,
        household=pet.household, target_url=f"/pets/{pet.pk}/",
    )  # fmt: skip
    post(body_of("webhook_list_reply.json", reply_id=row_id, title="QR code"),
         django_capture_on_commit_callbacks)  # fmt: skip
    [upload] = graph.uploads()
    assert upload.files["file"][1] == "image/png"
    assert upload.files["file"][2].startswith(b"\x89PNG")
    assert graph.messages()[-1]["type"] == "image"


def test_a_menu_row_for_a_pet_the_sender_cannot_see_sends_nothing_of_it(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    verified_phone(cast.charlie, "whatsapp", "+34600777888")
    row_id = whatsapp.button_id("menu", f"report.{pet.pk}")  # a real id, not charlie's pet
    body = body_of("webhook_list_reply.json", reply_id=row_id, title="PDF report",
                   **{"from": "34600777888"})  # fmt: skip
    assert post(body, django_capture_on_commit_callbacks).status_code == 200
    assert not graph.uploads()
    assert graph.messages()[-1]["type"] == "text"


# --- Statuses ----------------------------------------------------------------------------------


def test_statuses_move_the_delivery_forward_only(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    from pawfile.notifications.services import notification_send

    verified_phone(cast.alice, "whatsapp", ALICE, last_inbound_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(recipient=cast.alice, kind="system", title="Hi", body="",
                          event_key="system:1")  # fmt: skip
    delivery = Delivery.objects.get(channel="whatsapp")
    for value, expected in (("delivered", DeliveryStatus.DELIVERED),
                            ("read", DeliveryStatus.READ),
                            ("delivered", DeliveryStatus.READ)):  # fmt: skip
        body = body_of("webhook_status.json", wamid=delivery.provider_id, status=value,
                       to=ALICE.lstrip("+"))  # fmt: skip
        assert post(body, django_capture_on_commit_callbacks).status_code == 200
        delivery.refresh_from_db()
        assert delivery.status == expected


def test_a_failed_status_131026_blocks_the_channel(
    cast: Cast, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    from pawfile.notifications.services import notification_send

    verified_phone(cast.alice, "whatsapp", ALICE, last_inbound_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(recipient=cast.alice, kind="system", title="Hi", body="",
                          event_key="system:1")  # fmt: skip
    delivery = Delivery.objects.get(channel="whatsapp")
    body = body_of("webhook_status_failed_131026.json", wamid=delivery.provider_id,
                   to=ALICE.lstrip("+"))  # fmt: skip
    assert post(body, django_capture_on_commit_callbacks).status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and "131026" in delivery.error
    assert ChannelBlock.objects.filter(user=cast.alice, channel="whatsapp").exists()
    assert Notification.objects.filter(event_key__startswith="channel-blocked:whatsapp").exists()


def test_inbound_messages_are_rate_limited_per_sender(
    cast: Cast, graph: GraphFake, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monkeypatch.setattr(webhooks, "INBOUND_RULE", Rule(2, 60))
    verified_phone(cast.alice, "whatsapp", ALICE)
    handled = [
        post(body_of("webhook_text.json", text="menu"), django_capture_on_commit_callbacks).json()[
            "handled"
        ]
        for _ in range(3)
    ]
    assert handled == [1, 1, 0]
    assert WebhookReceipt.objects.count() == 2


def test_a_failed_upload_is_retried_by_the_outbox(
    cast: Cast, pet: Any, graph: GraphFake, django_capture_on_commit_callbacks
) -> None:
    from pawfile.outbox.services import outbox_deliver

    verified_phone(cast.alice, "whatsapp", ALICE)
    graph.script(500, "error_500.json")  # the media upload fails once
    row_id = whatsapp.button_id("menu", f"report.{pet.pk}")
    body = body_of("webhook_list_reply.json", reply_id=row_id, title="PDF report")
    assert post(body, django_capture_on_commit_callbacks).status_code == 200
    reply = OutboxMessage.objects.get(kind="whatsapp.reply")
    assert reply.status == "pending" and "500" in reply.last_error
    assert not graph.messages()
    OutboxMessage.objects.filter(pk=reply.pk).update(next_attempt_at=timezone.now())
    assert outbox_deliver(message_id=reply.pk) == "sent"
    assert [m["type"] for m in graph.messages()] == ["document"]
