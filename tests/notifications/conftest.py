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


# The browser fixtures of ``tests/e2e`` (the phone page's browser test), and the WhatsApp
# (Graph API) and Twilio fakes as fixtures ``graph`` and ``twilio``.
from tests.e2e.conftest import browser, chromium_executable, page, site_url  # noqa: E402, F401
from tests.notifications.phonefakes import graph, twilio  # noqa: E402, F401
