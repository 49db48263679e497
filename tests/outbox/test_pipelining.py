"""``outbox.pipelining.pipelined_send`` against a real SMTP server (aiosmtpd) that offers
``PIPELINING``: the message arrives as ``sendmail`` would send it, in two writes; each
refusal raises what ``sendmail`` raises and leaves the connection able to carry the next
message; without ``PIPELINING`` it is ``sendmail`` itself."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from typing import Any

import pytest

from pawfile.outbox.pipelining import pipelined_send
from tests.outbox.mailserver import ScriptedMailServer

MESSAGE = b"Subject: hi\r\nMessage-ID: <m1@example.org>\r\n\r\nline one\r\n.starts with a dot\r\n"


class Recording(ScriptedMailServer):
    """Keeps each message's envelope and content as they arrived; ``mail_replies`` are the
    answers to MAIL FROM, as ``rcpt_replies`` are to RCPT TO."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[tuple[str, list[str], bytes]] = []
        self.mail_replies: list[str] = []

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.mail_replies:
            return self.mail_replies.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self.data_replies.pop(0) if self.data_replies else None
        if reply:
            return reply
        content = envelope.original_content or envelope.content
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 OK"


@pytest.fixture
def server() -> Iterator[Recording]:
    found = Recording()
    found.pipelining = True
    found.start()
    try:
        yield found
    finally:
        found.stop()


@pytest.fixture
def client(server: Recording) -> Iterator[smtplib.SMTP]:
    connection = smtplib.SMTP(server.host, server.port, timeout=10)
    sends: list[bytes] = []
    real = connection.send

    def send(data: Any) -> None:
        sends.append(data)
        real(data)

    connection.send = send  # type: ignore[method-assign]
    connection.sends = sends  # type: ignore[attr-defined]
    try:
        yield connection
    finally:
        connection.close()


def test_a_message_goes_in_two_writes_and_arrives_as_sendmail_sends_it(
    server: Recording, client: smtplib.SMTP
) -> None:
    pipelined_send(client, "pawfile@example.org", "owner@example.org", MESSAGE)
    envelope_writes = [s for s in client.sends if isinstance(s, bytes) and b"RCPT TO" in s]  # type: ignore[attr-defined]
    assert envelope_writes == [
        b"MAIL FROM:<pawfile@example.org> SIZE=%d\r\nRCPT TO:<owner@example.org>\r\nDATA\r\n"
        % len(MESSAGE)
    ]
    assert len(client.sends) == 3  # type: ignore[attr-defined]  # EHLO, envelope, content
    client.sendmail("pawfile@example.org", ["owner@example.org"], MESSAGE)
    (ours, theirs) = server.envelopes
    assert ours == theirs == ("pawfile@example.org", ["owner@example.org"], theirs[2])
    assert b"\r\n.starts with a dot" in ours[2]  # the dot un-stuffed by the server


def test_a_refused_recipient_raises_as_sendmail_and_the_next_message_goes(
    server: Recording, client: smtplib.SMTP
) -> None:
    server.rcpt_replies = ["451 4.7.1 Try again later"]
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        pipelined_send(client, "pawfile@example.org", "owner@example.org", MESSAGE)
    assert refused.value.recipients == {"owner@example.org": (451, b"4.7.1 Try again later")}
    pipelined_send(client, "pawfile@example.org", "other@example.org", MESSAGE)
    assert [to for _from, to, _content in server.envelopes] == [["other@example.org"]]


def test_a_refused_message_raises_the_servers_code(server: Recording, client: smtplib.SMTP) -> None:
    server.data_replies = ["550 5.7.1 Content refused"]
    with pytest.raises(smtplib.SMTPDataError) as refused:
        pipelined_send(client, "pawfile@example.org", "owner@example.org", MESSAGE)
    assert refused.value.smtp_code == 550
    pipelined_send(client, "pawfile@example.org", "owner@example.org", MESSAGE)
    assert len(server.envelopes) == 1


def test_a_refused_sender_raises_as_sendmail(server: Recording, client: smtplib.SMTP) -> None:
    server.mail_replies = ["553 5.1.8 Sender address rejected"]
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        pipelined_send(client, "pawfile@example.org", "owner@example.org", MESSAGE)
    assert refused.value.smtp_code == 553 and refused.value.sender == "pawfile@example.org"
    pipelined_send(client, "pawfile@example.org", "owner@example.org", MESSAGE)
    assert len(server.envelopes) == 1


def test_without_pipelining_it_is_sendmail(server: Recording, client: smtplib.SMTP) -> None:
    server.pipelining = False
    pipelined_send(client, "pawfile@example.org", "owner@example.org", MESSAGE)
    assert not any(b"RCPT TO" in s and b"DATA" in s for s in client.sends if isinstance(s, bytes))  # type: ignore[attr-defined]
    assert len(server.envelopes) == 1
