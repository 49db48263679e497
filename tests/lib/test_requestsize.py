"""Request bodies over their route's limit are refused with 413 before anything reads them:
by the declared ``Content-Length``, and by counting a body sent without one (chunked);
uploads may send 16 MB, everything else 1 MB."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable
from typing import Any

import pytest
from django.conf import settings
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections
from django.test import Client
from PIL import Image

from pawfile.lib import images
from pawfile.pets.models import Pet, Photo
from tests.api.conftest import API, LOGIN
from tests.conftest import PASSWORD, Cast

MB = 1024 * 1024


class Unreadable(io.RawIOBase):
    """A request body that must not be read."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")

    readline = read  # type: ignore[assignment]


class Counted(io.RawIOBase):
    """``total`` bytes of ``fill``, counting what is read."""

    def __init__(self, total: int, fill: bytes = b"x") -> None:
        self.left = total
        self.fill = fill
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= size
        self.read_bytes += size
        return self.fill * size


def declared(client: Client, path: str, length: int, **extra: Any) -> Any:
    """A POST to ``path`` that declares ``length`` bytes and sends none of them."""
    return client.generic(
        "POST",
        path,
        b"",
        content_type="multipart/form-data; boundary=pawfile",
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": Unreadable()},
        **extra,
    )


def test_a_400_mb_sign_in_post_is_refused_unread(db: None) -> None:
    response = declared(Client(), "/accounts/login/", 400 * MB)
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "at most 1 MB can be sent here" in page and "<html" in page
    assert response["X-Request-ID"]  # still an ordinary answer: logged, counted, headed


def test_an_api_call_over_the_limit_gets_the_error_format(db: None) -> None:
    response = declared(Client(), f"{API}/pets", 2 * MB, HTTP_AUTHORIZATION="Bearer x")
    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "too_large",
            "message": "The request is too large: at most 1 MB can be sent here.",
            "fields": {},
        }
    }


def test_a_body_of_exactly_the_limit_goes_through(cast: Cast) -> None:
    body = json.dumps({"name": "R" + " " * (settings.PAWFILE_MAX_BODY - 20)})
    body += " " * (settings.PAWFILE_MAX_BODY - len(body))
    client = cast.client_for("alice")
    assert len(body) == settings.PAWFILE_MAX_BODY
    response = client.post(f"{API}/pets", body, content_type="application/json")
    assert response.status_code != 413
    response = client.post(f"{API}/pets", body + " ", content_type="application/json")
    assert response.status_code == 413


def noise_png(megabytes: int) -> bytes:
    side = int((megabytes * MB / 3) ** 0.5)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        out, "PNG", compress_level=1
    )
    return out.getvalue()


def test_a_10_mb_photo_is_accepted_and_17_mb_refused(cast: Cast, pet: Pet) -> None:
    client = cast.client_for("alice")
    ten = noise_png(10)
    assert 9.5 * MB < len(ten) < 11 * MB
    upload = SimpleUploadedFile("big.png", ten, content_type="image/png")
    response = client.post(f"/pets/{pet.pk}/photos/new/", {"image": upload})
    assert response.status_code == 302
    assert Photo.objects.count() == 1

    upload = SimpleUploadedFile("huge.png", b"\x89PNG" + b"\x00" * (17 * MB))
    response = client.post(f"/pets/{pet.pk}/photos/new/", {"image": upload})
    assert response.status_code == 413
    assert "at most 16 MB" in response.content.decode()
    assert Photo.objects.count() == 1


UPLOAD_PATHS = [
    "/pets/{pet}/photos/new/",
    "/records/{record}/attachments/",
    API + "/pets/{pet}/photos",
    API + "/records/{record}/attachments",
]


@pytest.mark.parametrize("path", UPLOAD_PATHS)
def test_every_upload_route_takes_16_mb_and_no_more(db: None, path: str) -> None:
    url = path.format(pet=1, record=1)
    client = Client()
    assert declared(client, url, 17 * MB).status_code == 413
    # 10 MB passes the size check: the request goes on (and fails for other reasons here).
    response = client.post(url, {"file": SimpleUploadedFile("x.pdf", b"x" * (10 * MB))})
    assert response.status_code != 413


def test_other_routes_take_1_mb(db: None) -> None:
    assert declared(Client(), "/pets/1/edit/", MB + 1).status_code == 413
    assert declared(Client(), "/no/such/page/", MB + 1).status_code == 413


def wsgi_call(environ: dict[str, Any]) -> tuple[str, bytes]:
    """Call the WSGI application granian serves; the test's database connection is kept
    open across the request, as Django's test client keeps it."""
    from pawfile.config.wsgi import application

    answer: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
        answer["status"] = status

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        body: Iterable[bytes] = application(environ, start_response)
        try:
            return answer["status"], b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def chunked_environ(path: str, stream: Any, content_type: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": content_type,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": stream,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def test_a_chunked_body_over_the_limit_is_refused_after_counting(db: None) -> None:
    stream = Counted(400 * MB)
    environ = chunked_environ("/accounts/login/", stream, "application/x-www-form-urlencoded")
    status, body = wsgi_call(environ)
    assert status.startswith("413")
    assert b"at most 1 MB" in body
    assert stream.read_bytes <= settings.PAWFILE_MAX_BODY + 64 * 1024  # read no further


def test_a_chunked_body_within_the_limit_reaches_the_view(cast: Cast) -> None:
    payload = json.dumps({"email": cast.alice.email, "password": PASSWORD}).encode()
    stream = io.BytesIO(payload)
    status, body = wsgi_call(chunked_environ(LOGIN, stream, "application/json"))
    assert status.startswith("200"), body[:300]
    assert json.loads(body)["meta"]["access_token"]


def test_the_size_settings_agree() -> None:
    # Django's own limit on form fields is ours; files are spooled to disk past 2.5 MB.
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.PAWFILE_MAX_BODY
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= settings.PAWFILE_MAX_UPLOAD_BODY
    # The largest file a person may upload fits, with its form, under the upload limit, so
    # they get the readable "larger than 15 MB" rather than a 413.
    assert images.MAX_BYTES + 256 * 1024 <= settings.PAWFILE_MAX_UPLOAD_BODY
    assert settings.PAWFILE_MAX_BODY <= settings.PAWFILE_MAX_UPLOAD_BODY
