"""``/api/v1/qrcodes``: the access table, the address allowlist, the error format."""

from __future__ import annotations

import pytest

from pawfile.qr import scans
from pawfile.qr.models import QRCode
from tests.api.conftest import ApiClient, access_token
from tests.conftest import Cast


@pytest.fixture
def client_for(cast: Cast, manager):
    def make(name: str | None) -> ApiClient:
        if name is None:
            return ApiClient(None)
        email = manager.email if name == "manager" else getattr(cast, name).email
        return ApiClient(access_token(email))

    return make


BODY = {"title": "Poster", "target_url": "https://shelter.example/adopt"}

# endpoint -> expected status for: manager, alice (an owner, no permission), anonymous
TABLE = [
    ("get", "/qrcodes", None, (200, 403, 401)),
    ("post", "/qrcodes", BODY, (201, 403, 401)),
    ("get", "/qrcodes/{id}", None, (200, 404, 401)),
    ("patch", "/qrcodes/{id}", {"title": "New"}, (200, 404, 401)),
    ("get", "/qrcodes/{id}/scans", None, (200, 404, 401)),
    ("delete", "/qrcodes/{id}", None, (204, 404, 401)),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), TABLE)
@pytest.mark.parametrize("who", ["manager", "alice", None])
def test_access_table(client_for, code, method, path, body, expected, who) -> None:
    client = client_for(who)
    status = expected[["manager", "alice", None].index(who)]
    response = client.request(method, path.format(id=code.id), body)
    assert response.status_code == status, response.content
    if status >= 400:
        assert set(response.json()["error"]) >= {"code", "message"}
    if status in (403, 404):
        assert QRCode.objects.filter(pk=code.id, title="Shelter poster").exists()


def test_unknown_and_malformed_ids(client_for) -> None:
    client = client_for("manager")
    assert client.get("/qrcodes/zzzzzzzzzz").status_code == 404
    assert client.get("/qrcodes/ABC%0d").status_code in (404, 422)


def test_create_returns_urls_and_redirects(client_for, settings) -> None:
    client = client_for("manager")
    response = client.post("/qrcodes", {**BODY, "fg_color": "#1a3d6e", "scan_limit": 5})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["scan_url"] == f"{settings.PAWFILE_BASE_URL}/r/{data['id']}"
    assert data["image_urls"]["png"].startswith(
        f"{settings.PAWFILE_BASE_URL}/q/{data['id']}.png?v="
    )
    assert data["fg_color"] == "#1a3d6e" and data["scan_limit"] == 5
    assert len(data["id"]) == 10


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "target_url": "javascript:alert(1)"}, "target_url"),
        ({**BODY, "target_url": "//evil.example"}, "target_url"),
        ({**BODY, "fg_color": "#eeeeee"}, "fg_color"),
        ({**BODY, "module_size": 100}, "module_size"),
        ({**BODY, "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({**BODY, "title": "a\nb"}, "title"),
    ],
)
def test_bad_input_422_with_field(client_for, body, field) -> None:
    response = client_for("manager").post("/qrcodes", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert not QRCode.objects.exists()


def test_retarget_and_deactivate(client_for, code) -> None:
    client = client_for("manager")
    response = client.patch(
        f"/qrcodes/{code.id}", {"target_url": "https://new.example/x", "is_active": False}
    )
    assert response.status_code == 200
    code.refresh_from_db()
    assert code.target_url == "https://new.example/x" and not code.is_active


def test_scans_endpoint(client_for, code, wsgi) -> None:
    for _ in range(3):
        wsgi(f"/r/{code.id}", query="q", HTTP_USER_AGENT="Mozilla/5.0 (Android)")
    wsgi(f"/r/{code.id}", HTTP_USER_AGENT="Mozilla/5.0 (Android)")
    scans.scan_buffer_flush()
    data = client_for("manager").get(f"/qrcodes/{code.id}/scans").json()
    assert data["total"] == 4 and data["genuine"] == 3
    assert data["days"][-1]["scans"] == 4 and data["days"][-1]["unique"] == 1
    assert len(data["days"]) == 30
    assert data["last_scan_at"]


class TestAllowlist:
    """``PAWFILE_QR_ADMIN_ALLOWED_IPS``: the client address through the trusted-proxy logic."""

    @pytest.fixture(autouse=True)
    def _allowlist(self, settings) -> None:
        settings.PAWFILE_QR_ADMIN_ALLOWED_IPS = ["10.1.0.0/16"]
        settings.PAWFILE_TRUSTED_PROXIES = []

    def test_outside_refused(self, client_for, code) -> None:
        client = client_for("manager")
        for method, path in (
            ("get", "/qrcodes"),
            ("get", f"/qrcodes/{code.id}"),
            ("delete", f"/qrcodes/{code.id}"),
        ):
            response = client.request(method, path)
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "address_not_allowed"
        assert QRCode.objects.filter(pk=code.id).exists()

    def test_forged_forwarded_for_changes_nothing(self, client_for, code) -> None:
        client = client_for("manager")
        response = client.get("/qrcodes", HTTP_X_FORWARDED_FOR="10.1.2.3")
        assert response.status_code == 403
        assert (
            client.delete(f"/qrcodes/{code.id}", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403
        )

    def test_inside_allowed(self, client_for) -> None:
        client = client_for("manager")
        assert client.get("/qrcodes", REMOTE_ADDR="10.1.9.9").status_code == 200

    def test_through_a_trusted_proxy(self, client_for, settings) -> None:
        settings.PAWFILE_TRUSTED_PROXIES = ["127.0.0.1"]
        client = client_for("manager")
        assert client.get("/qrcodes", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200
        assert client.get("/qrcodes", HTTP_X_FORWARDED_FOR="10.1.2.3, 192.0.2.1").status_code == 403

    def test_web_pages_too(self, manager) -> None:
        from django.test import Client

        web = Client()
        web.force_login(manager)
        assert web.get("/qr/").status_code == 403
        assert web.get("/qr/", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403
        assert web.get("/qr/", REMOTE_ADDR="10.1.0.1").status_code == 200
