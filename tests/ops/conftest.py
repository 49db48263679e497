"""Fixtures for the operations tests."""

from __future__ import annotations

import pytest

PROBE = "pawfile.ops.middleware.ProbeMiddleware"


@pytest.fixture
def probe_middleware(settings) -> None:
    """``ProbeMiddleware`` installed right after ``SecurityHeadersMiddleware``."""
    chain = [name for name in settings.MIDDLEWARE if name != PROBE]
    chain.insert(chain.index("pawfile.ops.middleware.SecurityHeadersMiddleware") + 1, PROBE)
    settings.MIDDLEWARE = chain


@pytest.fixture
def without_probe_middleware(settings) -> None:
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != PROBE]
