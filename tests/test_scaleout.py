"""Scale-out: two ``pawfile web`` processes on two ports and a ``pawfile worker``, sharing
PostgreSQL and Redis, behave as one site.

Runs in the PostgreSQL + Redis pass of the suite (``-m services``); it starts the real
console script, a real SMTP server and talks HTTP to the processes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster import PAWFILE, free_port, services_cluster, wait_until_up
from tests.conftest import PASSWORD
from tests.smtp import MailServer, links

pytestmark = [pytest.mark.services]
# tests/qr/test_processes.py imports these two from here (tests/cluster.py is their home)
__all__ = ["free_port", "wait_until_up"]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, object]]:
    """Two web nodes and a worker with the scheduler on one new database, mail to a local
    SMTP server; the login limit is 6 attempts a minute."""
    mail = MailServer()
    mail.start()
    try:
        with services_cluster(tmp_path, label="scaleout") as nodes:
            ports = [free_port(), free_port()]
            nodes.env |= {
                "PAWFILE_BASE_URL": f"http://127.0.0.1:{ports[0]}",
                "PAWFILE_RATELIMIT_LOGIN": "6/60,6/60",
                "EMAIL_URL": f"smtp://127.0.0.1:{mail.port}",
                # both nodes on this machine share one data dir (test_storage_s3.py runs the
                # nodes on a shared bucket instead)
                "PAWFILE_ALLOW_UNSHARED": "1",
            }
            nodes.pawfile("migrate")
            urls = [nodes.web(port) for port in ports]
            worker = nodes.start("worker", [PAWFILE, "worker", "--scheduler"])
            nodes.up()
            yield {"urls": urls, "mail": mail, "worker": worker}
    finally:
        mail.stop()


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
