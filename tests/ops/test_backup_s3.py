"""Backups in an S3 bucket, in one process, against the suite's moto server (``tests/s3.py``):
addresses, the multipart upload (in parts, one part in memory, visible only once complete,
server-side encrypted), and retention under a prefix. The whole cycle through the real
``pawfile`` commands is ``test_backup_s3_drill.py``."""

from __future__ import annotations

import io
import os
import tracemalloc

import pytest

from pawfile.ops.backup import s3
from pawfile.ops.backup.archive import ArchiveError, Manifest, archive_read
from pawfile.ops.backup.s3 import S3AddressError, S3Location, s3_location_parse
from tests.s3 import ACCESS_KEY, REGION, SECRET_KEY, s3_client, s3_keys

MIB = 1024 * 1024


@pytest.fixture
def store(settings, s3_server: str, s3_bucket: str) -> str:
    """Backups go to the test's bucket (``PAWFILE_BACKUP_S3`` as the settings build it),
    with server-side encryption."""
    settings.PAWFILE_BACKUP_S3 = {
        "endpoint_url": s3_server,
        "region": REGION,
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY,
        "addressing_style": "path",
        "sse": "AES256",
        "sse_kms_key_id": "",
    }
    return s3_bucket


@pytest.mark.parametrize(
    ("text", "bucket", "key"),
    [
        ("s3://pawfile-backups", "pawfile-backups", ""),
        ("s3://pawfile-backups/", "pawfile-backups", ""),
        ("s3://pawfile-backups/nightly", "pawfile-backups", "nightly/"),
        ("s3://my.bucket-1/site/a/", "my.bucket-1", "site/a/"),
    ],
)
def test_a_target_address_names_a_bucket_and_a_prefix(text: str, bucket: str, key: str) -> None:
    assert s3_location_parse(text) == S3Location(bucket, key)


@pytest.mark.parametrize(
    "text",
    ["s3://", "s3://ab/", "s3://Upper/", "s3://under_score/", "s3://b-ok/../up/", "s3://b-ok/a//b"],
)
def test_a_malformed_address_is_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(S3AddressError, match=r"S3 address|no '\.', '\.\.' or empty parts"):
        s3_location_parse(text)


def test_an_archive_address_names_one_object() -> None:
    found = s3_location_parse("s3://pawfile-backups/n/pawfile-backup-x.tar", archive=True)
    assert found == S3Location("pawfile-backups", "n/pawfile-backup-x.tar")
    with pytest.raises(S3AddressError, match="names no archive"):
        s3_location_parse("s3://pawfile-backups/n/", archive=True)


def _pending_uploads(endpoint: str, bucket: str) -> list[str]:
    found = s3_client(endpoint).list_multipart_uploads(Bucket=bucket)
    return [upload["Key"] for upload in found.get("Uploads", [])]


def test_an_upload_goes_in_parts_holds_one_part_and_appears_only_when_complete(
    store: str, s3_server: str, monkeypatch
) -> None:
    monkeypatch.setattr(s3, "PART_SIZE", 5 * MIB)  # S3's smallest part, to keep the test small
    client = s3_client(s3_server)
    location = S3Location(store, "nightly/big.bin")
    data = os.urandom(26 * MIB)

    backup_client = s3.s3_client()  # made (and its service model loaded) before measuring
    tracemalloc.start()
    try:
        upload = s3.S3Upload(backup_client, location)
        for start in range(0, len(data), 64 * 1024):  # as tar and age write: small blocks
            upload.write(data[start : start + 64 * 1024])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert s3_keys(s3_server, store) == []  # five parts sent, nothing visible yet
    assert _pending_uploads(s3_server, store) == ["nightly/big.bin"]
    upload.complete()

    stored = client.get_object(Bucket=store, Key="nightly/big.bin")
    assert stored["Body"].read() == data
    assert stored["ETag"].strip('"').endswith("-6")  # 5 × 5 MiB + 1 MiB
    assert stored["ServerSideEncryption"] == "AES256"
    assert upload.size == len(data)
    assert _pending_uploads(s3_server, store) == []
    # the 26 MiB never sat in memory at once: a part being filled and the one being sent
    assert peak < 3 * 5 * MIB, peak


def test_a_failed_archive_leaves_no_object_and_no_parts(store: str, s3_server: str) -> None:
    location = S3Location(store, "nightly/pawfile-backup-20261201T000000Z.tar")
    with (
        pytest.raises(RuntimeError, match="the database went away"),
        s3.s3_archive_write(location) as writer,
    ):
        writer.add("db/pawfile.sqlite3", io.BytesIO(b"x" * 1000), 1000)
        raise RuntimeError("the database went away")

    assert s3_keys(s3_server, store) == []
    assert _pending_uploads(s3_server, store) == []


def test_an_archive_written_to_a_bucket_downloads_and_reads_back(store: str) -> None:
    location = S3Location(store, "n/pawfile-backup-20261201T000000Z.tar")
    with s3.s3_archive_write(location) as writer:
        writer.add("db/pawfile.sqlite3", io.BytesIO(b"the database"), 12)
        writer.finish(Manifest(engine="sqlite", version="0", created_at="now"))
    assert writer.archive_size > 0

    got: dict[str, bytes] = {}
    with s3.s3_download(location) as path:
        assert path.stat().st_size == writer.archive_size
        archive_read(path, identities=[], sink=lambda n, st: got.update({n: st.read()}))
    assert got == {"db/pawfile.sqlite3": b"the database"}
    assert not path.exists()  # the download is removed afterwards

    with (
        pytest.raises(ArchiveError, match=r"No archive at s3://.*/n/missing\.tar"),
        s3.s3_download(S3Location(store, "n/missing.tar")),
    ):
        pass


def test_retention_in_a_bucket_deletes_only_old_archives_under_the_prefix(
    store: str, s3_server: str
) -> None:
    client = s3_client(s3_server)
    keys = [
        "nightly/pawfile-backup-20261130T230000Z.tar.age",
        "nightly/pawfile-backup-20261130T220000Z.tar.age",
        "nightly/pawfile-backup-20261129T230000Z.tar.age",  # the oldest: goes
        "nightly/notes.txt",  # not an archive
        "nightly/old/pawfile-backup-20200101T000000Z.tar",  # deeper: another prefix
        "pawfile-backup-20200101T000000Z.tar",  # outside the prefix
    ]
    for key in keys:
        client.put_object(Bucket=store, Key=key, Body=b"x")

    deleted = s3.s3_archives_prune(S3Location(store, "nightly/"), hourly=2, daily=1, weekly=0)

    assert [str(item) for item in deleted] == [f"s3://{store}/{keys[2]}"]
    assert s3_keys(s3_server, store) == sorted(set(keys) - {keys[2]})


def test_a_missing_bucket_or_an_unreachable_store_is_one_sentence(
    store: str, settings, s3_server: str
) -> None:
    with pytest.raises(ArchiveError, match=r"^The bucket 'no-such-bucket' does not exist at http"):
        s3.s3_bucket_check(S3Location("no-such-bucket", "x/"))

    from tests.s3 import free_port

    settings.PAWFILE_BACKUP_S3 = {
        **settings.PAWFILE_BACKUP_S3,
        "endpoint_url": f"http://127.0.0.1:{free_port()}",
    }
    with pytest.raises(ArchiveError, match=r"^Cannot reach the object store at http://127\.0\."):
        s3.s3_bucket_check(S3Location(store, "x/"))
