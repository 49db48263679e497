"""Optional OpenTelemetry tracing (``pawfile/ops/tracing.py``).

A local OTLP/HTTP receiver (a plain HTTP server decoding the protobuf export requests, as a
collector would) stands in for the collector. A real ``pawfile web`` on PostgreSQL + Redis,
started with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at it, must send a request's server span
and the database and Redis spans beneath it, in one trace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pawfile.ops import tracing
from tests.cluster import free_port, services_cluster


class Receiver(ThreadingHTTPServer):
    """Keeps every span it is sent: ``(trace id, name, attributes, resource attributes)``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[tuple[bytes, str, dict[str, object], dict[str, object]]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _value(any_value: object) -> object:
    kind = any_value.WhichOneof("value")  # type: ignore[attr-defined]
    return getattr(any_value, kind) if kind else None


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.server.lock:
            self.server.paths.append(self.path)
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        attributes = {a.key: _value(a.value) for a in span.attributes}
                        self.server.spans.append((span.trace_id, span.name, attributes, resource))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_off_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert tracing.tracing_start("web") is False


@pytest.mark.services
def test_a_request_sends_its_server_database_and_redis_spans(
    tmp_path: Path, receiver: Receiver
) -> None:
    with services_cluster(tmp_path, label="otel") as site:
        port = free_port()
        site.env |= {
            "PAWFILE_BASE_URL": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_SERVICE_NAME": "pawfile-under-test",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "PAWFILE_ALLOW_UNSHARED": "1",  # one node with local files: nothing to share
        }
        site.pawfile("migrate")
        url = site.web(port)
        site.up()
        # A sign-in page reads the session (database) and the rate-limit/cache (Redis) on POST;
        # a failed sign-in attempt touches both.
        with httpx.Client(base_url=url, timeout=10) as client:
            page = client.get("/accounts/login/")
            assert page.status_code == 200
            token = client.cookies["csrftoken"]
            answer = client.post(
                "/accounts/login/",
                data={
                    "login": "nobody@example.com",
                    "password": "wrong",
                    "csrfmiddlewaretoken": token,
                },
                headers={"Referer": url + "/accounts/login/"},
            )
            assert answer.status_code in (200, 400)

        def method(span: tuple[bytes, str, dict[str, object], dict[str, object]]) -> object:
            return span[2].get("http.request.method", span[2].get("http.method"))

        deadline = time.monotonic() + 30
        systems: set[object] = set()
        post: list[tuple[bytes, str, dict[str, object], dict[str, object]]] = []
        while time.monotonic() < deadline and not {"postgresql", "redis"} <= systems:
            time.sleep(0.3)
            with receiver.lock:
                spans = list(receiver.spans)
            post = [s for s in spans if method(s) == "POST"]
            if post:
                systems = {s[2].get("db.system") for s in spans if s[0] == post[0][0]}
        output = site.log_tail(f"web-{port}", 2000)
        assert set(receiver.paths) == {"/v1/traces"}, output
        assert post, ([s[1] for s in spans if method(s)], output)
        # The sign-in's own queries and Redis commands are children in the POST's trace.
        assert "postgresql" in systems, systems
        assert "redis" in systems, systems
        assert post[0][1] == "POST accounts/login/"
        assert post[0][3]["service.name"] == "pawfile-under-test"
        assert post[0][3]["pawfile.role"] == "web"
