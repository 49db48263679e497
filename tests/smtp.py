"""A real SMTP server for tests: mail leaves Django over the wire and lands here.

The ``smtp_server`` fixture starts an aiosmtpd server on 127.0.0.1 (on a port the system
picks) and points Django's SMTP backend at it for the length of one test. Messages arrive
parsed as ``email.message.EmailMessage``::

    def test_welcome(client, smtp_server):
        ...
        message = smtp_server.wait_for(to="dana@example.org", subject_contains="Confirm")
        url = links(message)[0]

Import the fixture in a ``conftest.py`` (or list this module in ``pytest_plugins``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

URL_RE = re.compile(r"https?://[^\s<>\"']+")
# aiosmtpd logs every SMTP command and connection at INFO from its own thread: a cost for the
# tests that send thousands of mails, and noise ("Logging error") when the thread outlives
# the test whose captured stream the handler writes to.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class _FreePortController(Controller):
    """Binds to port 0 and learns the port the system gave it before the readiness check."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class MailServer:
    """Collects every message delivered to it; tests wait for the one they expect."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()
        self._controller = _FreePortController(self, hostname="127.0.0.1", port=0)

    # --- aiosmtpd handler hook ---------------------------------------------------------------
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    # --- what tests use ----------------------------------------------------------------------
    @staticmethod
    def links(message: EmailMessage) -> list[str]:
        """Every http(s) URL in the text part of ``message`` (see :func:`links`)."""
        return links(message)

    def find(
        self, *, to: str | None = None, subject_contains: str | None = None
    ) -> list[EmailMessage]:
        """Messages received so far for ``to`` whose subject contains ``subject_contains``."""
        with self._arrived:
            return [m for m in self.messages if _matches(m, to, subject_contains)]

    def wait_for(
        self, *, to: str | None = None, subject_contains: str | None = None, timeout: float = 10
    ) -> EmailMessage:
        """The first message for ``to`` with ``subject_contains`` in its subject.

        Waits up to ``timeout`` seconds for it to arrive; fails the test if it does not.
        """
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for message in self.messages:
                    if _matches(message, to, subject_contains):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    received = [(str(m["To"]), str(m["Subject"])) for m in self.messages]
                    pytest.fail(
                        f"no mail to {to!r} with {subject_contains!r} in the subject within "
                        f"{timeout}s; received: {received}"
                    )
                self._arrived.wait(left)


def _matches(message: EmailMessage, to: str | None, subject_contains: str | None) -> bool:
    if to is not None:
        addresses = [a.addr_spec.lower() for a in getattr(message["To"], "addresses", ())]
        if to.lower() not in addresses:
            return False
    return subject_contains is None or subject_contains in str(message["Subject"] or "")


def text_body(message: EmailMessage) -> str:
    """The plain-text part of ``message``."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, f"message {message['Subject']!r} has no text part"
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def links(message: EmailMessage) -> list[str]:
    """Every http(s) URL in the text part of ``message``, in order."""
    return [url.rstrip(".,;)") for url in URL_RE.findall(text_body(message))]


def mail_to(settings: Any, host: str, port: int) -> None:
    """Make Django send mail over plain SMTP to ``host:port`` for the length of the test."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = host
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[MailServer]:
    """A running SMTP server; Django sends mail to it for the length of the test."""
    server = MailServer()
    server.start()
    mail_to(settings, server.host, server.port)
    try:
        yield server
    finally:
        server.stop()
