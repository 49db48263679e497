"""``pawfile.lib.http``: every request has a timeout, retries only when asked, redirects
are not followed, and private addresses are refused before any I/O unless allowed."""

from __future__ import annotations

import time

import pytest

from pawfile.lib.http import (
    HttpError,
    PrivateAddressError,
    address_is_private,
    host_check,
    http_request,
)
from tests.notifications.fakeservers import Answer, FakeServer


@pytest.fixture
def server():
    running = FakeServer(default={"ok": True}).start()
    yield running
    running.stop()


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("127.0.0.1", True), ("10.0.0.8", True), ("172.16.5.4", True), ("192.168.1.1", True),
        ("169.254.169.254", True), ("0.0.0.0", True), ("::1", True), ("fd00::1", True),
        ("fe80::1%eth0", True), ("::ffff:127.0.0.1", True), ("224.0.0.1", True),
        ("100.64.0.1", True), ("8.8.8.8", False), ("2606:4700:4700::1111", False),
    ],
)  # fmt: skip
def test_which_addresses_are_private(address: str, private: bool) -> None:
    assert address_is_private(address) is private


def test_private_hosts_are_refused_before_any_request(server: FakeServer) -> None:
    for url in (f"{server.base}/x", f"http://localhost:{server.port}/x", "http://[::1]/x"):
        with pytest.raises(PrivateAddressError):
            http_request("POST", url, json={})
    with pytest.raises(PrivateAddressError):
        host_check("sub.localhost")
    assert server.requests == []
    assert http_request("POST", f"{server.base}/x", json={}, allow_private=True).json() == {
        "ok": True
    }


def test_only_http_and_https(server: FakeServer) -> None:
    with pytest.raises(HttpError, match="only http and https"):
        http_request("GET", "file:///etc/passwd")


def test_a_slow_answer_is_a_timeout(server: FakeServer) -> None:
    server.queue(Answer(200, {}, delay=3))
    started = time.monotonic()
    with pytest.raises(HttpError, match="timed out"):
        http_request("POST", f"{server.base}/slow", timeout=0.5, allow_private=True)
    assert time.monotonic() - started < 3


def test_retries_only_when_asked_then_the_last_answer(server: FakeServer) -> None:
    server.queue(Answer(503, {}))
    once = http_request("POST", f"{server.base}/a", allow_private=True)
    assert once.status_code == 503 and len(server.requests) == 1
    server.queue(Answer(500, {}), Answer(429, {}))
    retried = http_request("POST", f"{server.base}/b", allow_private=True, retries=3, backoff=0.01)
    assert retried.status_code == 200 and len(server.requests) == 4
    server.queue(Answer(400, {"error": "bad"}))
    refused = http_request("POST", f"{server.base}/c", allow_private=True, retries=3)
    assert refused.status_code == 400 and len(server.requests) == 5  # a 4xx is not retried
