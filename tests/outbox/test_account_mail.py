"""Account mail goes through the outbox: the queue carries only a row id, never the text."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from pawfile.lib.tasks import HUEY
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.models import OutboxMessage
from tests.conftest import Cast
from tests.smtp import MailServer, links

# The mail leaves after commit, as in production: commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reset_link_never_enters_the_queue_and_is_dropped_once_sent(
    cast: Cast, smtp_server: MailServer
) -> None:
    enqueued = []

    def spy(signal: str, task: object, *args: object, **kwargs: object) -> None:
        enqueued.append(task)

    HUEY.signal("enqueued")(spy)
    try:
        response = Client().post("/accounts/password/reset/", {"email": "alice@example.org"})
    finally:
        HUEY.disconnect_signal(spy)
    assert response.status_code == 302

    received = smtp_server.wait_for(to="alice@example.org", subject_contains="Password Reset")
    (link,) = [url for url in links(received) if "/accounts/password/reset/key/" in url]
    row = OutboxMessage.objects.get()
    assert row.key.startswith("account:password_reset_key:")
    assert row.status == MessageStatus.SENT and row.sensitive
    assert link not in json.dumps(row.payload)
    assert set(row.payload) == {"to", "subject", "from_email"}

    (task,) = enqueued
    assert "outbox_deliver" in task.name
    assert task.args == (row.pk,) and not task.kwargs
    wire = HUEY.serialize_task(task)
    assert link.split("/key/")[1].encode() not in wire and b"alice" not in wire
    assert task.retries == 0  # the queue never sends account mail again by itself


def test_an_invitation_is_written_with_its_mail_in_one_transaction(
    cast: Cast, smtp_server: MailServer
) -> None:
    client = cast.client_for("alice")
    response = client.post(
        f"/households/{cast.household.pk}/invitations/",
        {"email": "dana@example.org", "role": "viewer"},
    )
    assert response.status_code in (200, 302)
    received = smtp_server.wait_for(to="dana@example.org")
    assert any("/invitations/" in url for url in links(received))
    invitation = cast.household.invitations.get()
    row = OutboxMessage.objects.get(key=f"invitation:{invitation.pk}")
    assert row.status == MessageStatus.SENT and "body" not in row.payload


def test_the_export_mail_is_written_once_however_often_the_build_runs(
    cast: Cast, smtp_server: MailServer
) -> None:
    from pawfile.privacy import export as exports
    from pawfile.privacy.models import DataExport, DataExportStatus

    ready = DataExport.objects.create(user=cast.alice, status=DataExportStatus.READY)
    exports.data_export_email_send(export=ready)
    exports.data_export_email_send(export=DataExport.objects.get(pk=ready.pk))  # a re-run

    received = smtp_server.wait_for(to="alice@example.org", subject_contains="export")
    (link,) = [url for url in links(received) if "/data/exports/" in url]
    token = link.split("/data/exports/")[1].split("/")[0]
    # The mailed link is the one whose token is stored: the re-run minted nothing new.
    assert exports.data_export_from_link(token=token, user=cast.alice).pk == ready.pk
    assert OutboxMessage.objects.filter(key=f"data-export:{ready.pk}").count() == 1
    assert len(smtp_server.find(to="alice@example.org")) == 1


def test_the_goodbye_mail_is_written_with_the_deletion(cast: Cast, smtp_server: MailServer) -> None:
    from pawfile.privacy.deletion import account_delete

    user_id = cast.charlie.pk
    account_delete(user=cast.charlie)
    received = smtp_server.wait_for(to="charlie@example.org", subject_contains="deleted")
    assert received is not None
    row = OutboxMessage.objects.get(key=f"account-deleted:{user_id}")
    assert row.status == MessageStatus.SENT and "body" not in row.payload
