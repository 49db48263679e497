"""/health: each backing service is checked; any failure answers 503 and names the check."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from pawfile.ops import health

pytestmark = pytest.mark.django_db


def test_health_ok(client) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "queue", "backup"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert check["ms"] >= 0
    assert body["checks"]["queue"]["pending"] == 0
    assert body["version"]


def test_health_sets_no_cookies(client) -> None:
    response = client.get("/health")

    assert response.cookies == {}


def test_health_503_when_the_cache_raises(client, monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("cache host unreachable")

    monkeypatch.setattr(caches["default"], "set", broken)

    response = client.get("/health")

    assert response.status_code == 503
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["cache"]["ok"] is False
    assert body["checks"]["cache"]["error"] == "ConnectionError"
    # The public body names the failure, not the host it was trying to reach.
    assert "unreachable" not in response.content.decode()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["queue"]["ok"] is True


def test_health_never_500_when_every_check_raises(client, monkeypatch) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("down")

    monkeypatch.setattr(health, "CHECKS", dict.fromkeys(health.CHECKS, broken))

    response = client.get("/health")

    assert response.status_code == 503
    assert all(not check["ok"] for check in response.json()["checks"].values())


def _cache_keys() -> list[str]:
    cache = caches["default"]
    if type(cache).__name__ == "RedisCache":
        client = cache._cache.get_client(write=False)  # type: ignore[attr-defined]
        return [key.decode() for key in client.scan_iter(f"{cache.key_prefix}*")]
    return list(cache._cache)  # type: ignore[attr-defined]


def test_health_cache_probe_does_not_grow_the_cache(client) -> None:
    for _ in range(5):
        client.get("/health")

    assert len([key for key in _cache_keys() if "ops:health" in key]) == 1


def test_health_is_read_only(client) -> None:
    assert client.post("/health").status_code == 405
    assert client.head("/health").status_code == 200


@pytest.mark.usefixtures("probe_middleware")
def test_probe_answers_health_whatever_the_host(client, settings) -> None:
    # Container and orchestrator probes address the server by IP, not by its public name.
    settings.ALLOWED_HOSTS = ["pets.example.org"]

    response = client.get("/health", HTTP_HOST="10.0.0.7:8000", HTTP_X_REQUEST_ID="probe-9")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Request-ID"] == "probe-9"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "Cookie" not in response.get("Vary", "")
    assert response.cookies == {}


@pytest.mark.usefixtures("probe_middleware")
def test_probe_reports_failures_too(client, monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("cache host unreachable")

    monkeypatch.setattr(caches["default"], "set", broken)

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["ok"] is False


@pytest.mark.usefixtures("probe_middleware")
def test_probe_leaves_other_methods_to_the_view(client) -> None:
    assert client.post("/health").status_code == 405


@pytest.mark.usefixtures("without_probe_middleware")
def test_without_probe_an_unknown_host_is_refused(client, settings) -> None:
    settings.ALLOWED_HOSTS = ["pets.example.org"]

    assert client.get("/health", HTTP_HOST="10.0.0.7:8000").status_code == 400
