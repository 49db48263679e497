"""Once a stop signal is seen, responses end their connection (``Connection: close``), so a
client that keeps its connection busy cannot keep a stopping web worker alive. The relay itself
is exercised with real processes and signals in ``tests/test_stop.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pawfile.lib import stopsignal


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def headers_sent() -> list[tuple[str, str]]:
    sent: list[tuple[str, str]] = []

    def start_response(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> None:
        sent.extend(headers)

    assert stopsignal.wsgi_closing_when_stopping(app)({}, start_response) == [b"ok"]
    return sent


@pytest.fixture
def stopping() -> Iterator[None]:
    stopsignal.stopping.set()
    yield
    stopsignal.stopping.clear()


def test_connections_are_kept_while_serving() -> None:
    assert headers_sent() == [("Content-Type", "text/plain")]


@pytest.mark.usefixtures("stopping")
def test_connections_close_once_stopping() -> None:
    assert headers_sent() == [("Content-Type", "text/plain"), ("Connection", "close")]
