"""A local S3-compatible server for the tests: moto's standalone server (``moto_server``),
started by the suite on a free port, no network. It keeps everything in memory and
speaks S3's HTTP wire protocol (SigV4, path-style addressing), so the code under test runs
through django-storages and boto3 exactly as against a real bucket.

``s3_server`` (session) is the endpoint; ``s3_bucket`` a fresh bucket for one test, with the
environment (``s3_env``) a ``pawfile`` process needs to use it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

MOTO_SERVER = str(Path(sys.executable).with_name("moto_server"))
ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"  # moto accepts any pair
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def s3_env(endpoint: str, bucket: str, **extra: str) -> dict[str, str]:
    """The environment of a ``pawfile`` process that stores its files in ``bucket``."""
    return {
        "PAWFILE_STORAGE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": REGION,
        "S3_ACCESS_KEY_ID": ACCESS_KEY,
        "S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "S3_ADDRESSING_STYLE": "path",
        **extra,
    }


def s3_keys(endpoint: str, bucket: str) -> list[str]:
    """Every object key in ``bucket``, sorted."""
    client = s3_client(endpoint)
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return sorted(keys)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint URL of a moto S3 server running for the whole session."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen(
        [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"moto_server exited with {process.returncode}")
            try:
                httpx.get(endpoint + "/", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise AssertionError("moto_server did not come up") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def s3_bucket(s3_server: str) -> str:
    """A new, empty bucket on the session's S3 server (its name)."""
    name = "pawfile-" + uuid.uuid4().hex[:12]
    s3_client(s3_server).create_bucket(Bucket=name)
    return name
