"""Through the real server (``pawfile web``, granian): a request that declares 400 MB, or
sends more than its limit in chunks, is answered 413 at once, without the body being sent."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster import free_port, wait_until_up

PAWFILE = str(Path(sys.executable).with_name("pawfile"))
MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("requestsize")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))}
    for name in ("DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    env |= {"PAWFILE_DATA_DIR": str(tmp / "data"), "PAWFILE_LOG_LEVEL": "WARNING"}
    subprocess.run([PAWFILE, "migrate"], env=env, check=True, capture_output=True, timeout=180)
    port = free_port()
    with (tmp / "web.log").open("wb") as log:
        process = subprocess.Popen(
            [PAWFILE, "web", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _status(sock: socket.socket) -> str:
    answer = b""
    while b"\r\n" not in answer:
        data = sock.recv(4096)
        if not data:
            break
        answer += data
    return answer.split(b"\r\n", 1)[0].decode()


def test_a_declared_400_mb_sign_in_is_refused_at_once(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=pawfile\r\n"
            + f"Content-Length: {400 * MB}\r\n\r\n".encode()
            + b"--pawfile\r\n" * 100
        )
        started = time.monotonic()
        status = _status(sock)  # the socket's timeout (10 s) bounds the wait
        waited = time.monotonic() - started
    assert status.startswith("HTTP/1.1 413"), status
    print(f"413 after {waited * 1000:.0f} ms with 1 KB of the declared 400 MB sent")


def test_a_chunked_body_over_the_limit_is_refused(server: int) -> None:
    chunk = b"x" * (64 * 1024)
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        try:
            for _ in range(2 * MB // len(chunk)):  # 2 MB, over the 1 MB limit
                sock.sendall(framed)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the body was all sent
        status = _status(sock)
    assert status.startswith("HTTP/1.1 413"), status


def test_a_small_chunked_body_is_read(server: int) -> None:
    body = b'{"email": "nobody@example.com", "password": "not-the-password-1"}'
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(
            b"POST /_allauth/app/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            + f"{len(body):x}\r\n".encode()
            + body
            + b"\r\n0\r\n\r\n"
        )
        answer = b""
        while data := sock.recv(65536):
            answer += data
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    # The credentials were read and judged (an empty body would be "field required").
    assert b"email_password_mismatch" in answer, answer[-400:]
