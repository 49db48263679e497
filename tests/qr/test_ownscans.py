"""The owner's own scans are not counted: a signed-in member of the code's household (or the
owner of a generic code) scanning it is sent on, and the flush writes no scan for it.

Sessions are real (``force_login`` stores one; its cookie is sent to the layer as a browser
would); strangers, made-up cookies and members of other households still count.
"""

from __future__ import annotations

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pawfile.ops import metrics
from pawfile.qr import scans, services
from pawfile.qr.models import QRCode, Scan
from tests.conftest import Cast
from tests.qr.conftest import Caller


def _cookie(client: Client) -> str:
    return f"theme=dark; sessionid={client.cookies['sessionid'].value}; other=1"


def _own_metric() -> float:
    text = metrics.render().decode()
    found = re.search(r'^pawfile_qr_scans_total{kind="own"} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def _scans(code: QRCode) -> tuple[int, int]:
    code.refresh_from_db()
    return Scan.objects.filter(code=code).count(), code.scan_count


def test_household_members_scans_are_left_out(
    cast: Cast, pet, wsgi: Caller, django_capture_on_commit_callbacks
) -> None:
    tag = services.pet_code_create(actor=cast.alice, pet=pet)
    wsgi.refresh()
    path = f"/r/{tag.id}"
    own_before = _own_metric()
    for name in ("alice", "bob", "carol"):  # owner, caretaker, viewer
        answer = wsgi(path, query="q", HTTP_COOKIE=_cookie(cast.client_for(name)))
        assert answer.status == 302  # the owner is still sent on
    wsgi(path, query="q")  # a stranger: no cookie
    wsgi(path, HTTP_COOKIE=_cookie(cast.client_for("charlie")))  # signed in, not a member
    wsgi(path, HTTP_COOKIE="sessionid=" + "a" * 32)  # made up
    wsgi(path, HTTP_COOKIE="sessionid=' OR 1=1 --")  # not even a key's shape
    assert len(scans.buffer) == 7
    with django_capture_on_commit_callbacks(execute=True):
        assert scans.scan_buffer_flush() == 4
    assert _scans(tag) == (4, 4)
    assert _own_metric() - own_before == 3


def test_a_signed_out_owner_counts_again(cast: Cast, pet, wsgi: Caller) -> None:
    tag = services.pet_code_create(actor=cast.alice, pet=pet)
    wsgi.refresh()
    client = cast.client_for("alice")
    cookie = _cookie(client)
    client.logout()  # the session is gone
    wsgi(f"/r/{tag.id}", HTTP_COOKIE=cookie)
    assert scans.scan_buffer_flush() == 1
    assert _scans(tag) == (1, 1)


def test_generic_code_owner_is_left_out(manager, code: QRCode, wsgi: Caller) -> None:
    client = Client()
    client.force_login(manager)
    wsgi(f"/r/{code.id}", HTTP_COOKIE=_cookie(client))
    wsgi(f"/r/{code.id}")
    assert scans.scan_buffer_flush() == 1
    assert _scans(code) == (1, 1)


def test_a_batch_without_session_cookies_reads_no_session(code: QRCode, wsgi: Caller) -> None:
    for _ in range(3):
        wsgi(f"/r/{code.id}", HTTP_COOKIE="theme=dark")
    assert all(scans.ScanEvent(*event).session == "" for event in scans.buffer)
    with CaptureQueriesContext(connection) as queries:
        assert scans.scan_buffer_flush() == 3
    assert not any("session" in q["sql"].lower() for q in queries.captured_queries)
    assert not any("membership" in q["sql"].lower() for q in queries.captured_queries)
