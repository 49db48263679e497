"""The management pages and the public images."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from pawfile.qr import images, scans
from pawfile.qr.models import QRCode
from tests.conftest import Cast


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


PAGES = ["/qr/", "/qr/new/", "/qr/{id}/", "/qr/{id}/delete/"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_access(cast: Cast, manager, code, path) -> None:
    url = path.format(id=code.id)
    assert signed_in(manager).get(url).status_code == 200
    collection = "{id}" not in path
    for user in (cast.alice, cast.charlie):
        assert signed_in(user).get(url).status_code == (403 if collection else 404)
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_post_actions_refused_to_others(cast: Cast, code) -> None:
    for user in (cast.alice, cast.bob):
        client = signed_in(user)
        assert client.post(f"/qr/{code.id}/delete/").status_code == 404
        assert client.post(f"/qr/{code.id}/active/", {"active": "false"}).status_code == 404
        assert client.post(f"/qr/{code.id}/", {"title": "x"}).status_code == 404
        assert client.post("/qr/new/", {"title": "x"}).status_code == 403
    code.refresh_from_db()
    assert code.is_active and code.title == "Shelter poster"


def form_data(**changes):
    data = {
        "title": "Clinic flyer",
        "target_url": "https://clinic.example/",
        "is_active": "on",
        "fg_color": "#000000",
        "bg_color": "#ffffff",
        "module_size": "10",
        "quiet_zone": "4",
        "error_level": "M",
        "frame_text": "",
    }
    return {**data, **changes}


def test_create_edit_toggle_delete(manager) -> None:
    client = signed_in(manager)
    logo = io.BytesIO()
    Image.new("RGB", (64, 64), "navy").save(logo, "PNG")
    upload = SimpleUploadedFile("logo.png", logo.getvalue(), content_type="image/png")
    response = client.post("/qr/new/", {**form_data(), "logo": upload})
    assert response.status_code == 302, response.content
    code = QRCode.objects.get()
    assert code.error_level == "H" and code.logo and code.owner_user == manager
    page = client.get(response["Location"])
    assert images.scan_url(code) in page.content.decode()
    assert b'<svg class="qr-chart"' in page.content

    response = client.post(
        f"/qr/{code.id}/", form_data(target_url="https://clinic.example/new", remove_logo="on")
    )
    assert response.status_code == 302
    code.refresh_from_db()
    assert code.target_url == "https://clinic.example/new" and not code.logo

    client.post(f"/qr/{code.id}/active/", {"active": "false"})
    code.refresh_from_db()
    assert not code.is_active
    client.post(f"/qr/{code.id}/delete/")
    assert not QRCode.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target_url": "javascript:alert(1)"}, "https://"),
        ({"fg_color": "#dddddd"}, "too close"),
        ({"target_url": "https://a.example@evil.example/"}, "user name"),
    ],
)
def test_bad_input_400_with_message(manager, changes, message) -> None:
    response = signed_in(manager).post("/qr/new/", form_data(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not QRCode.objects.exists()


def test_chart_counts_scans(manager, code, wsgi) -> None:
    for _ in range(6):
        wsgi(f"/r/{code.id}", query="q", HTTP_USER_AGENT="Mozilla/5.0")
    scans.scan_buffer_flush()
    page = signed_in(manager).get(f"/qr/{code.id}/").content.decode()
    assert "6 scans, 6 from the printed code" in page
    assert "6 scans, 6 from the printed code</title>" in page


@pytest.mark.parametrize("kind", ["png", "svg", "pdf"])
def test_public_images_with_etag(code, kind) -> None:
    client = Client()
    response = client.get(f"/q/{code.id}.{kind}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}[kind]
    )
    assert response["Cache-Control"] == "public, max-age=31536000"
    etag = response["ETag"]
    again = client.get(f"/q/{code.id}.{kind}", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert "Set-Cookie" not in response


def test_image_etag_follows_the_style(manager, code) -> None:
    before = Client().get(f"/q/{code.id}.png")["ETag"]
    Client().get(f"/q/{code.id}.png")
    from pawfile.qr import services

    services.code_update(actor=manager, code_id=code.id, fg_color="#1a3d6e")
    after = Client().get(f"/q/{code.id}.png")
    assert after["ETag"] != before
    with Image.open(io.BytesIO(after.content)) as picture:
        assert (0x1A, 0x3D, 0x6E) in {c for _n, c in picture.convert("RGB").getcolors(1 << 16)}


def test_unknown_image_404(db) -> None:
    assert Client().get("/q/zzzzzzzzzz.png").status_code == 404
    assert Client().get("/q/zzzzzzzzzz.gif").status_code == 404
