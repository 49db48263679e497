"""Scale-out: two ``pawfile web`` processes on two ports and a ``pawfile worker``, sharing
PostgreSQL and Redis, behave as one site.

Runs in the PostgreSQL + Redis pass of the suite (``-m services``); it starts the real
console script, a real SMTP server and talks HTTP to the processes.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.smtp import MailServer, links

pytestmark = [pytest.mark.services]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
PAWFILE = str(Path(sys.executable).with_name("pawfile"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited early with {process.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, object]]:
    if not DATABASE_URL.startswith("postgres") or not REDIS_URL:
        pytest.fail("the scale-out test needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    import psycopg
    import redis

    name = "pawfile_scaleout_" + uuid.uuid4().hex[:8]
    parts = urlsplit(DATABASE_URL)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    mail = MailServer()
    mail.start()
    ports = [free_port(), free_port()]
    prefix = "scaleout-" + uuid.uuid4().hex[:8]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))},
        "DATABASE_URL": urlunsplit(parts._replace(path="/" + name)),
        "REDIS_URL": REDIS_URL,
        "PAWFILE_CACHE_PREFIX": prefix,
        "PAWFILE_QUEUE_NAME": prefix,
        "PAWFILE_SECRET_KEY": "scale-out-test-" + "s" * 40,
        "PAWFILE_BASE_URL": f"http://127.0.0.1:{ports[0]}",
        "PAWFILE_DATA_DIR": str(tmp_path / "data"),
        "PAWFILE_LOG_LEVEL": "WARNING",
        "PAWFILE_RATELIMIT_LOGIN": "6/60,6/60",
        "EMAIL_URL": f"smtp://127.0.0.1:{mail.port}",
        # both nodes on this machine share one data dir (test_storage_s3.py runs the nodes
        # on a shared bucket instead)
        "PAWFILE_ALLOW_UNSHARED": "1",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([PAWFILE, "migrate"], env=env, check=True, capture_output=True, timeout=180)
        for port in ports:
            log = (tmp_path / f"web-{port}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [PAWFILE, "web", "--bind", f"127.0.0.1:{port}", "--threads", "2"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        log = (tmp_path / "worker.log").open("wb")
        processes.append(
            subprocess.Popen(
                [PAWFILE, "worker", "--scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        )
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, process in zip(urls, processes, strict=False):
            wait_until_up(url, process)
        yield {"urls": urls, "mail": mail, "worker": processes[-1]}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        mail.stop()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def csrf(client: httpx.Client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match, url
    return match.group(1)


def post_form(client: httpx.Client, url: str, data: dict[str, str]) -> httpx.Response:
    data = {**data, "csrfmiddlewaretoken": csrf(client, url)}
    return client.post(url, data=data)


def test_two_web_nodes_and_a_worker_act_as_one_site(cluster: dict[str, object]) -> None:
    a, b = cluster["urls"]  # type: ignore[misc]
    mail: MailServer = cluster["mail"]  # type: ignore[assignment]
    client = httpx.Client(follow_redirects=True, timeout=15)

    # Sign up on node A; the verification mail is confirmed on node B.
    post_form(client, f"{a}/accounts/signup/", {"email": "dana@example.org", "password1": PASSWORD})
    message = mail.wait_for(to="dana@example.org", timeout=15)
    link = links(message)[0].replace(a, b)
    confirm = post_form(client, link, {})
    assert confirm.status_code == 200
    # The session made on B is valid on A: sessions live in the shared database.
    home = client.get(f"{a}/home/")
    assert str(home.url).endswith("/home/")
    assert "dana" in home.text.lower()
    household_id = re.search(r"/households/(\d+)/", home.text)
    assert household_id

    # An invitation made on A is mailed by the worker (through the Redis queue).
    invite_url = f"{a}/households/{household_id.group(1)}/invitations/"
    detail_url = f"{b}/households/{household_id.group(1)}/"
    token = csrf(client, detail_url)
    response = client.post(
        invite_url,
        data={"email": "erin@example.org", "role": "viewer", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 200
    invitation = mail.wait_for(to="erin@example.org", timeout=20)
    assert "/invitations/" in invitation.get_content() or links(invitation)

    # Rate limits are shared: attempts spread over both nodes count together.
    anonymous = httpx.Client(timeout=15)
    codes = []
    for i in range(8):
        node = (a, b)[i % 2]
        token = csrf(anonymous, f"{node}/accounts/login/")
        codes.append(
            anonymous.post(
                f"{node}/accounts/login/",
                data={
                    "login": "dana@example.org",
                    "password": "wrong",
                    "csrfmiddlewaretoken": token,
                },
            ).status_code
        )
    assert 429 not in codes[:6]
    assert codes[6] == 429 and codes[7] == 429
