"""The outbox in the admin: failed messages are visible, filterable, and can be retried."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from pawfile.outbox.choices import AttemptOutcome, MessageStatus
from pawfile.outbox.mail import mail_enqueue
from pawfile.outbox.models import OutboxMessage
from tests.conftest import Cast
from tests.outbox.mailserver import ScriptedMailServer

pytestmark = pytest.mark.django_db

LIST = f"/{settings.PAWFILE_ADMIN_PATH}outbox/outboxmessage/"


def refused(smtp: ScriptedMailServer, capture, key: str) -> OutboxMessage:
    """A mail the server refuses for good: it ends ``failed``."""
    smtp.rcpt_replies.append("550 5.1.1 No such user here")
    with capture(execute=True):
        message = mail_enqueue(
            key=key, to=["gone@example.org"], subject="Confirm", body="https://x.test/secret/"
        )
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    return message


def test_failed_messages_are_listed_filtered_and_searchable(
    admin_client: Client, smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    failed = refused(smtp, django_capture_on_commit_callbacks, "account:confirm:abc123")
    OutboxMessage.objects.create(key="other:sent", kind="email", status=MessageStatus.SENT)

    page = admin_client.get(LIST, {"status__exact": "failed"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "account:confirm:abc123" in html and "other:sent" not in html
    assert "550" in html
    found = admin_client.get(LIST, {"q": "abc123"}).content.decode()
    assert "account:confirm:abc123" in found and "other:sent" not in found

    detail = admin_client.get(f"{LIST}{failed.pk}/change/").content.decode()
    assert "gone@example.org" in detail and "No such user" in detail
    assert "secret" not in detail  # a sensitive message's text is not shown


def test_retry_action_sends_a_failed_message_again(
    admin_client: Client, smtp: ScriptedMailServer, django_capture_on_commit_callbacks
) -> None:
    failed = refused(smtp, django_capture_on_commit_callbacks, "account:confirm:retry")
    sent = OutboxMessage.objects.create(key="other:sent", kind="email", status=MessageStatus.SENT)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            LIST,
            {"action": "retry", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert "1 failed message was put back in line." in response.content.decode()

    smtp.wait_for(to="gone@example.org")
    failed.refresh_from_db()
    assert failed.status == MessageStatus.SENT and failed.attempts == 1
    outcomes = [a.outcome for a in failed.attempt_log.order_by("pk")]
    assert outcomes == [AttemptOutcome.FAILED, AttemptOutcome.SENT]
    assert len(smtp.messages) == 1  # the message that was already sent was left alone


def test_only_staff_reach_the_outbox(cast: Cast) -> None:
    assert cast.client_for("bob").get(LIST).status_code == 404
    assert Client().get(LIST).status_code == 302  # to the login page
