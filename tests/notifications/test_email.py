"""The email channel over a real SMTP server: the recipient's language, HTML and text, the
RFC 8058 one-click unsubscribe without signing in, and a permanent refusal that turns the
channel off and says so in the inbox."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from pawfile.notifications.choices import DeliveryStatus, Kind
from pawfile.notifications.models import ChannelBlock, Delivery, Notification, Preference
from pawfile.notifications.services import notification_send
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.models import OutboxMessage
from tests.conftest import Cast
from tests.outbox.mailserver import ScriptedMailServer
from tests.smtp import text_body

pytestmark = pytest.mark.django_db


def send(user, key: str = "reminder:1", kind: str = Kind.REMINDER, run=None):
    """Send as a caller would, and run what its commit would run (the outbox task)."""
    with run() as callbacks:
        notification_send(
            recipient=user, kind=kind, title="Rex: pill time", body="Give Rex his pill.",
            link="/pets/", event_key=key,
        )  # fmt: skip
    return callbacks


def test_the_mail_has_text_html_and_one_click_unsubscribe(
    cast: Cast, smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    send(cast.alice, run=lambda: django_capture_on_commit_callbacks(execute=True))

    mail = smtp.wait_for(to="alice@example.org", subject_contains="Rex: pill time")
    assert "Give Rex his pill." in text_body(mail)
    html = mail.get_body(preferencelist=("html",))
    assert html is not None and "Give Rex his pill." in html.get_content()
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = [part.strip(" <>") for part in mail["List-Unsubscribe"].split(",")]
    assert https.startswith("http") and "/notifications/unsubscribe/" in https
    assert mailto.startswith("mailto:")
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_id == mail["Message-ID"]
    message = OutboxMessage.objects.get()
    assert message.status == MessageStatus.SENT
    assert [a.outcome for a in message.attempt_log.all()] == ["sent"]
    assert message.attempt_log.get().duration_ms is not None

    path = https.split("://", 1)[1].split("/", 1)[1]
    anonymous = Client()
    page = anonymous.get(f"/{path}")  # GET: a page with a button, nothing changes
    assert page.status_code == 200 and b"<form" in page.content
    assert not Preference.objects.exists()
    # What a mail client sends (RFC 8058): a POST, no session, no CSRF token.
    done = anonymous.post(
        f"/{path}", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code == 200
    assert Preference.objects.filter(
        user=cast.alice, kind=Kind.REMINDER, channel="email", enabled=False
    ).exists()
    send(cast.alice, key="reminder:2", run=lambda: django_capture_on_commit_callbacks(execute=True))
    assert OutboxMessage.objects.count() == 1  # reminders no longer mail her
    assert Notification.objects.count() == 2  # but still reach the inbox


def test_a_forged_unsubscribe_token_is_404_and_changes_nothing(cast: Cast) -> None:
    response = Client().post("/notifications/unsubscribe/not-a-token/")
    assert response.status_code == 404
    assert not Preference.objects.exists()


def test_the_mail_is_in_the_recipients_language(
    cast: Cast, smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    cast.alice.locale = "es"
    cast.alice.save()
    with translation.override("en"):
        send(cast.alice, run=lambda: django_capture_on_commit_callbacks(execute=True))
    mail = smtp.wait_for(to="alice@example.org")
    assert "Darse de baja:" in text_body(mail)
    html = mail.get_body(preferencelist=("html",))
    assert html is not None and "Recibes esto" in html.get_content()


def test_a_permanent_refusal_turns_email_off_and_says_so_in_the_inbox(
    cast: Cast, smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    smtp.rcpt_replies.append("550 5.1.1 No such user")
    send(cast.alice, run=lambda: django_capture_on_commit_callbacks(execute=True))

    message = OutboxMessage.objects.get(kind="notify.email")
    assert message.status == MessageStatus.FAILED
    assert "550" in message.attempt_log.get().error
    assert Delivery.objects.get().status == DeliveryStatus.FAILED
    assert ChannelBlock.objects.filter(user=cast.alice, channel="email").exists()
    notice = Notification.objects.get(kind=Kind.SYSTEM)
    assert notice.recipient == cast.alice and "Email" in notice.title
    assert not notice.deliveries.exists()  # the notice itself is not mailed

    send(cast.alice, key="reminder:2", run=lambda: django_capture_on_commit_callbacks(execute=True))
    assert OutboxMessage.objects.filter(kind="notify.email").count() == 1
    assert smtp.messages == []


def test_a_temporary_refusal_is_retried_and_keeps_the_channel(
    cast: Cast, smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    smtp.rcpt_replies.append("451 4.3.0 Try later")
    send(cast.alice, run=lambda: django_capture_on_commit_callbacks(execute=True))
    message = OutboxMessage.objects.get(kind="notify.email")
    assert message.status == MessageStatus.PENDING
    assert not ChannelBlock.objects.exists()
    assert Delivery.objects.get().status == DeliveryStatus.QUEUED
