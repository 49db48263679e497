"""/metrics: Prometheus text, counted by URL pattern, guarded by a token or the network."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests"


def _samples(text: str, name: str) -> list:
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def _count(text: str, route: str) -> float:
    return sum(
        sample.value
        for sample in _samples(text, "pawfile_http_requests_total")
        if sample.labels["route"] == route
    )


def test_requests_counted_under_their_route_pattern(client) -> None:
    route = "invitations/<str:token>/"
    before = _count(client.get("/metrics").content.decode(), route)

    client.get("/invitations/abc/")
    client.get("/invitations/abc/")
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response["Cache-Control"] == "no-store"
    text = response.content.decode()
    assert _count(text, route) == before + 2
    assert f'route="{route}"' in text
    assert "/invitations/abc/" not in text
    durations = _samples(text, "pawfile_http_request_duration_seconds_count")
    assert any(s.labels == {"route": route, "method": "GET"} and s.value >= 2 for s in durations)


def test_unknown_paths_share_one_label(client) -> None:
    client.get("/no/such/page-7f3a/")
    text = client.get("/metrics").content.decode()

    assert "page-7f3a" not in text
    assert _count(text, "unmatched") >= 1


def test_queue_depth_and_build_info(client) -> None:
    text = client.get("/metrics").content.decode()

    (depth,) = _samples(text, "pawfile_queue_depth")
    assert depth.value == 0
    (info,) = _samples(text, "pawfile_build_info")
    assert info.value == 1
    assert set(info.labels) == {"version", "python", "django"}


def test_wrong_token_is_refused(client, settings) -> None:
    settings.PAWFILE_METRICS_TOKEN = TOKEN

    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


def test_right_token_is_accepted_from_anywhere(client, settings) -> None:
    settings.PAWFILE_METRICS_TOKEN = TOKEN

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="8.8.8.8")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("remote", "status"),
    [
        ("127.0.0.1", 200),
        ("::1", 200),
        ("10.1.2.3", 200),
        ("192.168.0.20", 200),
        ("8.8.8.8", 404),
        ("2a00:1450:4001::1", 404),
        ("::ffff:8.8.8.8", 404),
        ("::ffff:10.0.0.1", 200),
    ],
)
# Documentation ranges (203.0.113.0/24, 2001:db8::/32) count as private; public examples
# therefore use real public addresses.
def test_without_token_only_local_networks(client, settings, remote: str, status: int) -> None:
    settings.PAWFILE_METRICS_TOKEN = ""

    assert client.get("/metrics", REMOTE_ADDR=remote).status_code == status


def test_without_token_untrusted_proxy_is_refused(client, settings) -> None:
    # A reverse proxy on the same host makes every client look like 127.0.0.1.
    settings.PAWFILE_METRICS_TOKEN = ""
    settings.PAWFILE_TRUSTED_PROXIES = []

    response = client.get("/metrics", HTTP_X_FORWARDED_FOR="10.0.0.5")

    assert response.status_code == 404


def test_without_token_trusted_proxy_passes_the_real_client(client, settings) -> None:
    settings.PAWFILE_METRICS_TOKEN = ""
    settings.PAWFILE_TRUSTED_PROXIES = ["127.0.0.1"]

    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.0.0.5").status_code == 200
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="8.8.8.8").status_code == 404


@pytest.mark.usefixtures("probe_middleware")
def test_probe_serves_allowed_scrapes_whatever_the_host(client, settings) -> None:
    settings.PAWFILE_METRICS_TOKEN = ""
    settings.ALLOWED_HOSTS = ["pets.example.org"]

    client.get("/health", HTTP_HOST="10.0.0.7:8000")
    response = client.get("/metrics", HTTP_HOST="10.0.0.7:8000")

    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    text = response.content.decode()
    assert _count(text, "health") >= 1


@pytest.mark.usefixtures("probe_middleware")
def test_probe_leaves_refused_scrapes_to_the_view(client, settings) -> None:
    settings.PAWFILE_METRICS_TOKEN = TOKEN

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="8.8.8.8")
    assert ok.status_code == 200

    settings.PAWFILE_METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="8.8.8.8").status_code == 404
