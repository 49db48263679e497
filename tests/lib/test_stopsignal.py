"""Once a stop signal is seen, responses end their connection (``Connection: close``), so a
client that keeps its connection busy cannot keep a stopping web worker alive; granian's worker
is told of a stop once however many stop signals come. The relay itself is exercised with real
processes and signals in ``tests/test_stop.py``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
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


# Run in a process of its own: it installs signal handlers, and the failure it guards
# against is a hang that holds the GIL (a thread-based timeout could not end it).
ONE_STOP_THREE_SIGNALS = """
import signal, sys
from granian import _signals
from pawfile.lib import stopsignal

if sys.argv[1] == "guarded":
    assert stopsignal.granian_worker_stop_once()
_signals.set_sync_signals()  # what granian's WSGI worker calls
# Ctrl-C to the group, SIGTERM from granian's supervisor, one relayed again
for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGINT):
    signal.raise_signal(signum)
print("handled", stopsignal.stopping.is_set(), flush=True)
"""


def test_granian_worker_acts_on_the_first_stop_signal_only() -> None:
    """Granian's worker handler blocks, holding the GIL, from its third call on (its
    ``WorkerSignal.set`` waits on a full channel): one stop brings up to three signals, so
    the guarded handler must come back from all three (and the process know it stops)."""
    done = subprocess.run(
        [sys.executable, "-c", ONE_STOP_THREE_SIGNALS, "guarded"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["handled", "True"]
