"""The redirect's short path (``QrRedirect.__call__`` answering a GET of a plain code from
``RedirectTable.plain``, keyed by the whole path) answers every request exactly as the full
path does (``QrRedirect.answer`` for ``/r/…``, the application behind for the rest): the same
status, headers and body, and the same scan buffered, for every kind of code, odd paths and
every method."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from pawfile.qr import scans, services
from pawfile.qr.models import QRCode
from tests.qr.conftest import Caller, django_app


def _call(app: Any, environ: dict[str, Any]) -> tuple[Any, ...]:
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *exc: Any) -> None:
        got["status"], got["headers"] = status, list(headers)

    body = b"".join(app(dict(environ), start_response))
    events = [scans.ScanEvent(*event)._replace(at=0.0) for event in scans.buffer]
    scans.buffer.clear()
    return got["status"], got["headers"], body, events


def test_short_path_answers_as_answer(manager, code, wsgi: Caller) -> None:
    future = timezone.now() + dt.timedelta(days=3)
    made = {
        "expiring": services.code_create(
            actor=manager, title="E", target_url="https://e.example/", expires_at=future
        ),
        "limited": services.code_create(
            actor=manager, title="L", target_url="https://l.example/", scan_limit=1000
        ),
        "off": services.code_create(actor=manager, title="O", target_url="https://o.example/"),
        "bad": services.code_create(actor=manager, title="B", target_url="https://b.example/"),
    }
    services.code_update(actor=manager, code_id=made["off"].id, is_active=False)
    QRCode.objects.filter(pk=made["bad"].id).update(target_url="https://b.example/\r\nX: y")
    services.code_update(actor=manager, code_id=code.id, title="bump")  # the generation moves
    wsgi.refresh()
    layer = wsgi.layer
    assert set(layer.table.plain) == {f"/r/{code.id}"}  # the only plain code

    def full(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        if path.startswith("/r/"):
            return layer.answer(environ, start_response, path[3:])
        return django_app(environ, start_response)

    ids = [code.id, *(c.id for c in made.values())]
    paths = [f"/r/{i}" for i in ids] + [
        "/r/UNKNOWN2345", "/r/", "/r/a/../b", f"/r/{code.id}/", f"/R/{code.id}",
        f"/r/{code.id.lower()}", "/p/some-slug", "/", f"/rr/{code.id}",
    ]  # fmt: skip
    compared = 0
    for path in paths:
        for method in ("GET", "HEAD", "POST"):
            for extra in ({}, {"QUERY_STRING": "q"}, {"HTTP_USER_AGENT": "Mozilla/5.0 (iPhone)"}):
                environ = {
                    "REQUEST_METHOD": method,
                    "PATH_INFO": path,
                    "QUERY_STRING": "",
                    "REMOTE_ADDR": "203.0.113.7",
                    "HTTP_COOKIE": "sessionid=abc; theme=dark",
                    "HTTP_REFERER": "https://ref.example/p",
                    **extra,
                }
                short = _call(layer, environ)
                assert short == _call(full, environ), (path, method, extra)
                compared += 1
    assert compared == len(paths) * 9
    # ...and the short path did serve the plain code's scans
    assert _call(layer, {"REQUEST_METHOD": "GET", "PATH_INFO": f"/r/{code.id}"})[0] == "302 Found"
