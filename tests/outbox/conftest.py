"""Fixtures for the outbox tests: a scripted SMTP server and a staff member for the admin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from tests.conftest import Cast
from tests.outbox.mailserver import ScriptedMailServer
from tests.smtp import mail_to


@pytest.fixture
def smtp(settings: Any) -> Iterator[ScriptedMailServer]:
    """A running scripted SMTP server; Django sends mail to it for the length of the test."""
    server = ScriptedMailServer()
    server.start()
    mail_to(settings, server.host, server.port)
    try:
        yield server
    finally:
        server.release()
        server.stop()


@pytest.fixture
def admin_client(cast: Cast) -> Client:
    """alice as a superuser with two-factor authentication: she reaches the admin."""
    cast.alice.is_staff = cast.alice.is_superuser = True
    cast.alice.save()
    TOTP.activate(cast.alice, generate_totp_secret())
    client = Client()
    client.force_login(cast.alice)
    return client
