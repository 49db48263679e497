"""``/r/{id}`` through the WSGI layer: statuses, HEAD, no Django, exact scan counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pawfile.qr import scans, services
from pawfile.qr.models import QRCode, Scan


def test_redirect_302_and_the_rest_goes_to_django(code, wsgi) -> None:
    answer = wsgi(f"/r/{code.id}")
    assert answer.status == 302
    assert answer.headers["Location"] == code.target_url
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.body == b""
    assert "Set-Cookie" not in answer.headers
    other = wsgi("/health")
    assert other.body == b"django"


def test_hot_path_runs_no_query(code, wsgi) -> None:
    wsgi(f"/r/{code.id}")  # the first request loads the table
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert wsgi(f"/r/{code.id}").status == 302
        assert wsgi("/r/zzzzzzzzzz").status == 404
    assert len(queries) == 0


def test_unknown_and_malformed_ids_404(code, wsgi) -> None:
    for path in (
        "/r/zzzzzzzzzz",
        "/r/",
        "/r/" + code.id + "/",
        "/r/" + code.id.upper(),
        "/r/%0d%0a",
    ):
        answer = wsgi(path)
        assert answer.status == 404, path
        assert b"does not exist" in answer.body
        assert "Location" not in answer.headers


def test_head_answers_without_body_or_scan(code, wsgi) -> None:
    answer = wsgi(f"/r/{code.id}", method="HEAD")
    assert answer.status == 302
    assert answer.headers["Location"] == code.target_url
    assert wsgi("/r/zzzzzzzzzz", method="HEAD").body == b""
    assert len(scans.buffer) == 0


def test_other_methods_405(code, wsgi) -> None:
    answer = wsgi(f"/r/{code.id}", method="POST")
    assert answer.status == 405
    assert answer.headers["Allow"] == "GET, HEAD"


def test_inactive_expired_exhausted_410(manager, code, wsgi) -> None:
    services.code_update(actor=manager, code_id=code.id, is_active=False)
    wsgi.refresh()
    answer = wsgi(f"/r/{code.id}")
    assert answer.status == 410
    assert b"no longer active" in answer.body
    assert "Location" not in answer.headers
    assert answer.headers["Content-Security-Policy"] == "default-src 'none'"
    spanish = wsgi(f"/r/{code.id}", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    assert spanish.status == 410 and "ya no está activo".encode() in spanish.body

    services.code_update(actor=manager, code_id=code.id, is_active=True)
    wsgi.refresh()
    assert wsgi(f"/r/{code.id}").status == 302

    soon = timezone.now() + dt.timedelta(seconds=1)
    QRCode.objects.filter(pk=code.id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    services.code_update(actor=manager, code_id=code.id, title="expired")  # bumps the generation
    wsgi.refresh()
    assert wsgi(f"/r/{code.id}").status == 410
    assert soon  # an expiry in the past is refused by the service, hence the update() above


def test_scan_limit_exact(manager, wsgi) -> None:
    code = services.code_create(
        actor=manager, title="Three", target_url="https://a.example/", scan_limit=3
    )
    statuses = [wsgi(f"/r/{code.id}").status for _ in range(5)]
    assert statuses == [302, 302, 302, 410, 410]
    assert scans.scan_buffer_flush() == 3
    code.refresh_from_db()
    assert code.scan_count == 3
    wsgi.layer.table.counts_refresh()
    assert wsgi(f"/r/{code.id}").status == 410


def test_scans_counted_exactly_and_without_address(code, wsgi) -> None:
    n = 57
    for i in range(n):
        query = "q" if i % 3 == 0 else ""
        agent = "Googlebot/2.1" if i == 1 else "Mozilla/5.0 (iPhone)"
        wsgi(
            f"/r/{code.id}",
            query=query,
            HTTP_USER_AGENT=agent,
            HTTP_REFERER="https://ref.example/p",
        )
    assert Scan.objects.count() == 0  # nothing written by the requests
    assert scans.scan_buffer_flush() == n
    code.refresh_from_db()
    assert code.scan_count == n
    assert code.last_scan_at is not None
    rows = list(Scan.objects.filter(code=code))
    assert len(rows) == n
    assert sum(r.genuine for r in rows) == 19
    assert sum(r.bot for r in rows) == 1
    assert {r.referrer_host for r in rows} == {"ref.example"}
    assert {r.visitor for r in rows} != {""} and len({r.visitor for r in rows}) == 1
    assert all("203.0.113" not in r.visitor for r in rows)


def test_a_paced_flush_writes_every_scan(code, wsgi) -> None:
    """The refresher's flush pauses between slices of work (``scans.Pacer``) within its
    budget, and still writes every scan."""
    n = 2 * scans.YIELD_EVERY + 50
    for _ in range(n):
        wsgi(f"/r/{code.id}", HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")
    assert scans.scan_buffer_flush(pace=0.05) == n
    code.refresh_from_db()
    assert code.scan_count == n == Scan.objects.filter(code=code).count()
    pacer = scans.Pacer(0.001)
    for _ in range(3):
        pacer.slice_done()
    assert 0.0 <= pacer.left <= 0.001


def test_scans_of_a_deleted_code_are_dropped(manager, code, wsgi) -> None:
    wsgi(f"/r/{code.id}")
    services.code_delete(actor=manager, code_id=code.id)
    assert scans.scan_buffer_flush() == 0
    wsgi.refresh()
    assert wsgi(f"/r/{code.id}").status == 404


def test_failed_flush_keeps_the_scans(code, wsgi, monkeypatch) -> None:
    for _ in range(4):
        wsgi(f"/r/{code.id}")

    def broken(events, pacer):
        raise RuntimeError("database away")

    monkeypatch.setattr(scans, "_write", broken)
    assert scans.scan_buffer_flush() == 0
    assert len(scans.buffer) == 4
    monkeypatch.undo()
    assert scans.scan_buffer_flush() == 4


def test_retarget_reaches_the_table(manager, code, wsgi) -> None:
    assert wsgi(f"/r/{code.id}").headers["Location"] == "https://shelter.example/adopt?x=1"
    services.code_update(actor=manager, code_id=code.id, target_url="https://new.example/")
    assert wsgi.layer.table.refresh_if_changed(now=1e9) is True
    assert wsgi(f"/r/{code.id}").headers["Location"] == "https://new.example/"
    assert wsgi.layer.table.refresh_if_changed(now=1e9 + 1) is False  # nothing changed since


@pytest.mark.parametrize("stored", ["https://a.example/\r\nX: y", "javascript:alert(1)x y"])
def test_a_bad_stored_target_is_never_a_header(manager, code, wsgi, stored) -> None:
    QRCode.objects.filter(pk=code.id).update(target_url=stored)
    services.code_update(actor=manager, code_id=code.id, title="bump")
    wsgi.refresh()
    answer = wsgi(f"/r/{code.id}")
    if stored.startswith("javascript"):
        # printable ASCII but not http(s): never stored by the services; the layer only
        # guards the header itself
        return
    assert answer.status == 410
    assert "Location" not in answer.headers


def test_instants_and_counts_of_several_codes_as_scanned(manager, code, wsgi) -> None:
    """The flush writes the instants as text and the counts of a batch's codes in one
    statement: each row keeps its scan's instant to the microsecond (a whole second too),
    each code its own count and latest scan, and odd characters in what the row keeps from
    the headers arrive as sent."""
    other = services.code_create(actor=manager, title="Other", target_url="https://b.example/")
    base = 1_800_000_000  # whole seconds since the epoch (2027-01-15)
    times = {code.id: [base + 0.5, base + 2.0, base + 1.25], other.id: [base + 3.000001]}
    meta = {"REMOTE_ADDR": "203.0.113.7", "HTTP_REFERER": "https://tab\tand\\back.example/"}
    for code_id, instants in times.items():
        for at in instants:
            scans.scan_record(meta, code_id, at, True)
    assert scans.scan_buffer_flush() == 4
    for code_id, instants in times.items():
        row = QRCode.objects.get(pk=code_id)
        assert row.scan_count == len(instants)
        assert row.last_scan_at == dt.datetime.fromtimestamp(max(instants), tz=dt.UTC)
        stored = sorted(Scan.objects.filter(code_id=code_id).values_list("at", flat=True))
        assert stored == sorted(dt.datetime.fromtimestamp(at, tz=dt.UTC) for at in instants)
    hosts = set(Scan.objects.values_list("referrer_host", flat=True))
    assert hosts == {"taband\\back.example"}  # the tab dropped by urlsplit, the backslash kept
