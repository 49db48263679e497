"""Stored files on S3-compatible object storage (``PAWFILE_STORAGE=s3``), against a local
moto server the suite starts (``tests/s3.py``; no network).

In-process (both passes of the suite): photos and attachments are written to the bucket
(private, server-side encrypted when asked) and served by the access-checked views, which
stream them from storage (owner, caretaker and viewer get the bytes; a stranger 404; anyone
signed out goes to the login page); deleting a pet deletes its objects only once the
deletion commits; the backup lists and puts back objects through the same storage API.

Services pass: two ``pawfile web`` nodes on PostgreSQL + Redis + the bucket: a photo
uploaded through node A is served by node B, and deleting the pet through B empties the
bucket of its objects.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.urls import reverse

from pawfile.health import services as health_services
from pawfile.ops.backup import media
from pawfile.pets import photos, services
from pawfile.pets.models import Pet
from tests.cluster import free_port, services_cluster
from tests.conftest import PASSWORD, Cast, response_close
from tests.s3 import ACCESS_KEY, REGION, SECRET_KEY, s3_client, s3_env, s3_keys

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png_bytes(colour: str = "orange") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def bucket(settings, s3_server: str, s3_bucket: str) -> str:
    """The default storage is the test's bucket, as ``PAWFILE_STORAGE=s3`` with
    ``S3_SSE=AES256`` configures it (``pawfile/config/settings.py``)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": s3_bucket,
                "endpoint_url": s3_server,
                "region_name": REGION,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "addressing_style": "path",
                "signature_version": "s3v4",
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": 300,
                "file_overwrite": False,
                "object_parameters": {"ServerSideEncryption": "AES256"},
            },
        },
    }
    return s3_bucket


def body(response) -> bytes:
    data = b"".join(response.streaming_content)
    response_close(response)
    return data


ROLES = [("alice", 200), ("bob", 200), ("carol", 200), ("charlie", 404), (None, 302)]


@pytest.mark.parametrize(("who", "status"), ROLES)
def test_a_photo_in_the_bucket_is_served_by_its_view_only(
    cast: Cast, pet: Pet, bucket: str, s3_server: str, who: str | None, status: int
) -> None:
    photo = photos.photo_add(actor=cast.alice, pet=pet, upload=io.BytesIO(png_bytes()))
    name = photo.path("card", "webp")
    keys = s3_keys(s3_server, bucket)
    assert name in keys and all(k.startswith(f"pets/{pet.pk}/") for k in keys), keys
    client = s3_client(s3_server)
    stored = client.get_object(Bucket=bucket, Key=name)
    assert stored["ServerSideEncryption"] == "AES256"
    # private: no grant to anyone but the owner, and no anonymous read
    grants = client.get_object_acl(Bucket=bucket, Key=name)["Grants"]
    assert all("URI" not in grant["Grantee"] for grant in grants), grants
    assert httpx.get(f"{s3_server}/{bucket}/{name}").status_code == 403

    url = reverse("photo_file", kwargs={"key": photo.key, "variant": "card", "fmt": "webp"})
    response = cast.client_for(who).get(url)
    assert response.status_code == status
    if status == 200:
        assert body(response) == stored["Body"].read()
        assert response["Content-Type"] == "image/webp"
    elif status == 302:
        assert "/accounts/login/" in response["Location"]


def test_an_attachment_streams_from_the_bucket(cast: Cast, pet: Pet, bucket: str, s3_server: str):
    import datetime as dt

    record = health_services.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name="Rabies", date=dt.date(2025, 3, 1)
    )
    attachment = health_services.attachment_add(
        actor=cast.alice, record=record, upload=io.BytesIO(PDF), filename="rabies.pdf"
    )
    assert str(attachment.file.name) in s3_keys(s3_server, bucket)
    url = reverse("attachment_file", kwargs={"attachment_id": attachment.pk})
    response = cast.client_for("carol").get(url)
    assert response.status_code == 200
    assert body(response) == PDF
    assert cast.client_for("charlie").get(url).status_code == 404
    # an object gone from the bucket is a 404, not a 500
    s3_client(s3_server).delete_object(Bucket=bucket, Key=str(attachment.file.name))
    assert cast.client_for("alice").get(url).status_code == 404


def test_deleting_a_pet_deletes_its_objects_after_commit(
    cast: Cast, pet: Pet, bucket: str, s3_server: str, django_capture_on_commit_callbacks
) -> None:
    photos.photo_add(actor=cast.alice, pet=pet, upload=io.BytesIO(png_bytes()))
    other = Pet.objects.create(household=cast.household, name="Tom", species="cat")
    photos.photo_add(actor=cast.alice, pet=other, upload=io.BytesIO(png_bytes("blue")))
    before = s3_keys(s3_server, bucket)
    rex_keys = [k for k in before if k.startswith(f"pets/{pet.pk}/")]
    assert rex_keys
    with django_capture_on_commit_callbacks() as callbacks:
        services.pet_delete(actor=cast.alice, pet=pet)
        # not yet committed: a rollback would keep a pet whose photos still exist
        assert s3_keys(s3_server, bucket) == before
    for callback in callbacks:
        callback()
    after = s3_keys(s3_server, bucket)
    assert after == [k for k in before if k not in rex_keys]
    assert after and all(k.startswith(f"pets/{other.pk}/") for k in after)


def test_the_backup_copies_objects_through_the_storage_api(
    cast: Cast, pet: Pet, bucket: str, s3_server: str, tmp_path: Path
) -> None:
    photo = photos.photo_add(actor=cast.alice, pet=pet, upload=io.BytesIO(png_bytes()))
    assert list(media.media_names()) == s3_keys(s3_server, bucket)
    staged = tmp_path / "staged"
    staged.write_bytes(b"restored bytes")
    name = photo.path("full", "jpeg").replace(str(photo.key), str(uuid.uuid4()))
    media.media_install(name, staged)
    got = s3_client(s3_server).get_object(Bucket=bucket, Key=name)
    assert got["Body"].read() == b"restored bytes"
    held = len(s3_keys(s3_server, bucket))
    assert media.media_clear() == held  # restore --force
    assert s3_keys(s3_server, bucket) == []


# --- Two web nodes on PostgreSQL + Redis + the bucket (services pass) -----------------------


@pytest.fixture
def two_nodes(tmp_path: Path, s3_server: str, s3_bucket: str) -> Iterator[dict[str, object]]:
    """Two web nodes on one new database and the test's bucket, each with a data dir of its
    own (nothing is shared through the local disk); no worker: tasks run in the request."""
    with services_cluster(tmp_path, label="s3") as nodes:
        ports = [free_port(), free_port()]
        nodes.env |= {
            **s3_env(s3_server, s3_bucket, S3_SSE="AES256"),
            "PAWFILE_BASE_URL": f"http://127.0.0.1:{ports[0]}",
            "PAWFILE_ADMIN_PASSWORD": PASSWORD,
            "PAWFILE_TASKS_IMMEDIATE": "true",  # no worker here: side effects run in the request
        }
        urls = []
        for index, port in enumerate(ports):
            node_env = {"PAWFILE_DATA_DIR": str(tmp_path / f"node{index}")}
            if index == 0:
                nodes.pawfile("migrate", env=node_env)
                nodes.pawfile("createadmin", "--email", "ann@example.org", env=node_env)
            urls.append(nodes.web(port, env=node_env))
        nodes.up(timeout=90)
        yield {"urls": urls, "bucket": s3_bucket, "endpoint": s3_server}


def jwt(url: str, email: str) -> str:
    response = httpx.post(
        f"{url}/_allauth/app/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["meta"]["access_token"])


@pytest.mark.services
def test_a_photo_uploaded_through_one_node_is_served_by_the_other(two_nodes) -> None:
    a, b = two_nodes["urls"]  # type: ignore[misc]
    bucket, endpoint = str(two_nodes["bucket"]), str(two_nodes["endpoint"])
    headers = {"Authorization": f"Bearer {jwt(a, 'ann@example.org')}"}
    with httpx.Client(timeout=60, headers=headers) as client:
        households = client.get(f"{a}/api/v1/households").json()["items"]
        pet = client.post(
            f"{a}/api/v1/pets",
            json={"household_id": households[0]["id"], "name": "Rex", "species": "dog"},
        )
        assert pet.status_code == 201, pet.text
        pet_id = pet.json()["id"]
        upload = client.post(
            f"{a}/api/v1/pets/{pet_id}/photos",
            files={"file": ("rex.png", png_bytes(), "image/png")},
        )
        assert upload.status_code == 201, upload.text
        photo_id = upload.json()["id"]
        keys = s3_keys(endpoint, bucket)
        assert keys and all(k.startswith(f"pets/{pet_id}/") for k in keys), keys

        from_a = client.get(f"{a}/api/v1/photos/{photo_id}/file?variant=card&format=webp")
        from_b = client.get(f"{b}/api/v1/photos/{photo_id}/file?variant=card&format=webp")
        assert from_a.status_code == from_b.status_code == 200
        assert from_b.content == from_a.content and from_b.content[:4] == b"RIFF"

        deleted = client.delete(f"{b}/api/v1/pets/{pet_id}")
        assert deleted.status_code == 204
        assert s3_keys(endpoint, bucket) == []
        gone = client.get(f"{a}/api/v1/photos/{photo_id}/file?variant=card&format=webp")
        assert gone.status_code == 404


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAWFILE_STORAGE": "s3"}, "PAWFILE_STORAGE=s3 needs S3_BUCKET"),
        ({"PAWFILE_STORAGE": "bucket"}, "PAWFILE_STORAGE must be local or s3"),
        ({"PAWFILE_STORAGE": "s3", "S3_BUCKET": "b", "S3_SSE": "yes"}, "S3_SSE must be none"),
        (
            {"PAWFILE_STORAGE": "s3", "S3_BUCKET": "b", "S3_ADDRESSING_STYLE": "dns"},
            "S3_ADDRESSING_STYLE must be path or virtual",
        ),
        (
            {"PAWFILE_STORAGE": "s3", "S3_BUCKET": "b", "S3_ACCESS_KEY_ID": "k"},
            "Set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY",
        ),
    ],
    ids=["no-bucket", "unknown-backend", "bad-sse", "bad-style", "half-credentials"],
)
def test_storage_settings_say_what_is_wrong(tmp_path: Path, env: dict[str, str], message: str):
    from tests.config.test_settings import pawfile

    result = pawfile(["check"], env, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
