"""A scriptable local HTTP server for the Apprise and AI provider tests: it records every
request (method, path, headers, body) and answers what the test queued (status, JSON body,
delay), else 200 with ``default``. Real sockets, real HTTP: Apprise (requests) and
``pawfile.lib.http`` (httpx) talk to it as they would to the service."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture(provider: str, name: str) -> Any:
    """A saved payload: ``tests/fixtures/<provider>/<name>``, parsed as JSON."""
    return json.loads((FIXTURES / provider / name).read_text(encoding="utf-8"))


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    delay: float = 0.0


class FakeServer:
    def __init__(self, default: Any = None) -> None:
        self.requests: list[Seen] = []
        self.answers: deque[Answer] = deque()
        self.default = default if default is not None else {}
        self.received = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                seen = Seen(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                answer = outer.answers.popleft() if outer.answers else Answer(200, outer.default)
                with outer.received:
                    outer.requests.append(seen)
                    outer.received.notify_all()
                if answer.delay:
                    time.sleep(answer.delay)
                data = json.dumps(answer.body).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout test)

            do_PUT = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def queue(self, *answers: Answer) -> None:
        self.answers.extend(answers)
