"""/health and /metrics check the S3 bucket of the stored files (``PAWFILE_STORAGE=s3``),
against the suite's moto server: one HEAD, its answer kept a few seconds; a bucket that is
gone or a store that does not answer fails the check with a reason that names no host."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from pawfile.ops import health
from tests.s3 import ACCESS_KEY, REGION, SECRET_KEY, free_port, s3_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    health.storage_state_forget()
    yield
    health.storage_state_forget()


def use_bucket(settings, endpoint: str, bucket: str) -> None:
    """The default storage is ``bucket`` at ``endpoint``, as ``PAWFILE_STORAGE=s3`` makes it."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "region_name": REGION,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "addressing_style": "path",
            },
        },
    }


def storage_up(client) -> str:
    text = client.get("/metrics").content.decode()
    return re.search(r"^pawfile_storage_up (\S+)$", text, re.M).group(1)


def test_on_local_disk_there_is_no_storage_check(client) -> None:
    body = client.get("/health").json()

    assert "storage" not in body["checks"]
    assert storage_up(client) == "NaN"


def test_a_bucket_that_answers_passes_and_its_answer_is_kept(
    client, settings, s3_server: str, s3_bucket: str
) -> None:
    use_bucket(settings, s3_server, s3_bucket)

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json()["checks"]["storage"]["ok"] is True
    assert storage_up(client) == "1.0"

    s3_client(s3_server).delete_bucket(Bucket=s3_bucket)  # gone: seen at the next probe
    assert client.get("/health").status_code == 200  # the kept answer, no round trip
    health.storage_state_forget()  # as when STORAGE_CACHE_SECONDS have passed

    gone = client.get("/health")

    assert gone.status_code == 503
    check = gone.json()["checks"]["storage"]
    assert (check["ok"], check["reason"]) == (False, "no such bucket")
    assert storage_up(client) == "0.0"


def test_a_store_that_does_not_answer_fails_the_check(client, settings) -> None:
    port = free_port()
    use_bucket(settings, f"http://127.0.0.1:{port}", "pawfile-files")

    response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["storage"] == {
        "ok": False,
        "error": "CheckFailed",
        "reason": "unreachable",
        "ms": body["checks"]["storage"]["ms"],
    }
    assert str(port) not in response.content.decode()  # the public body names no host
    assert body["checks"]["database"]["ok"] is True
    assert storage_up(client) == "0.0"
