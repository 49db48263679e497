"""Fixtures for the notification tests: a scripted SMTP server (real, over the wire)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.outbox.mailserver import ScriptedMailServer
from tests.smtp import mail_to


@pytest.fixture
def smtp(settings: Any) -> Iterator[ScriptedMailServer]:
    """A running SMTP server whose refusals a test scripts; Django sends mail to it."""
    server = ScriptedMailServer()
    server.start()
    mail_to(settings, server.host, server.port)
    try:
        yield server
    finally:
        server.release()
        server.stop()
