"""Backups in an S3-compatible bucket: ``s3://bucket/prefix/`` as a backup target.

An archive is uploaded while it is written (``s3_archive_write``: a multipart upload fed by
the tar and age streams, one part in memory at a time), and becomes visible only when the
upload completes: a failed backup leaves no object, and its parts are aborted. To verify or
restore one, ``s3_download`` copies it to a temporary file first. ``s3_archives_prune``
applies the ``PAWFILE_BACKUP_KEEP_*`` rules to the archives under a prefix.

The store, keys and server-side encryption are ``settings.PAWFILE_BACKUP_S3`` (the storage's
``S3_*`` unless ``PAWFILE_BACKUP_S3_*`` override them). Every failure of the store (no such
bucket, refused keys, an endpoint that does not answer) is an ``ArchiveError`` with one
sentence; a malformed ``s3://`` address is an ``S3AddressError``.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings

from pawfile.ops.backup.archive import ArchiveError, ArchiveWriter, archive_stream
from pawfile.ops.backup.retention import ARCHIVE, archives_to_keep

SCHEME = "s3://"
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
# Parts of 16 MiB, doubled every 2,000 parts: S3 takes at most 10,000 parts per object, so
# archives up to about 1 TB fit, and memory holds one part.
PART_SIZE = 16 * 1024 * 1024
PARTS_PER_SIZE = 2000
MAX_PARTS = 10_000


class S3AddressError(ArchiveError):
    """An ``s3://`` address that names no bucket (or no archive where one is needed)."""


@dataclass(frozen=True)
class S3Location:
    """An object key, or a prefix (``""`` or ending in ``/``), in a bucket."""

    bucket: str
    key: str

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"

    def child(self, name: str) -> S3Location:
        return S3Location(self.bucket, self.key + name)

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


def is_s3(text: str | Path) -> bool:
    return isinstance(text, str) and text.startswith(SCHEME)


def s3_location_parse(text: str, *, archive: bool = False) -> S3Location:
    """``s3://bucket/prefix/`` as a target (the prefix is made to end in ``/``), or, with
    ``archive``, ``s3://bucket/key`` naming one archive. ``S3AddressError`` otherwise."""
    bucket, _, key = text[len(SCHEME) :].partition("/")
    if not text.startswith(SCHEME) or not BUCKET.match(bucket):
        raise S3AddressError(
            f"{text!r} is not an S3 address: s3://BUCKET/PREFIX/ (a bucket name is 3-63 "
            "lower-case letters, digits, dots and hyphens)."
        )
    if any(part in {".", ".."} for part in key.split("/")) or "//" in key:
        raise S3AddressError(f"{text!r}: a key has no '.', '..' or empty parts.")
    if archive:
        if not key or key.endswith("/"):
            raise S3AddressError(f"{text!r} names no archive: s3://BUCKET/PREFIX/ARCHIVE.tar.age")
        return S3Location(bucket, key)
    if key and not key.endswith("/"):
        key += "/"
    return S3Location(bucket, key)


@cache
def _client(config: tuple[tuple[str, str], ...]) -> Any:
    import boto3
    from botocore.config import Config

    options = dict(config)
    return boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"] or None,
        region_name=options["region"] or None,
        aws_access_key_id=options["access_key_id"] or None,
        aws_secret_access_key=options["secret_access_key"] or None,
        config=Config(
            s3={"addressing_style": options["addressing_style"]},
            signature_version="s3v4",
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )


def s3_client() -> Any:
    """A boto3 client for the backup store (one per configuration, reused)."""
    return _client(tuple(sorted(settings.PAWFILE_BACKUP_S3.items())))


def _endpoint() -> str:
    return settings.PAWFILE_BACKUP_S3["endpoint_url"] or "AWS S3"


@contextmanager
def s3_errors(location: S3Location, *, bucket_call: bool = False) -> Iterator[None]:
    """Turn what boto3 raises into an ``ArchiveError`` with one sentence about ``location``.
    A bare 404 means no bucket for ``bucket_call`` (HEAD on the bucket), else no archive."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        NoCredentialsError,
    )

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket" or (bucket_call and code in {"404", "NotFound"}):
            message = f"The bucket {location.bucket!r} does not exist at {_endpoint()}."
        elif code in {"NoSuchKey", "404", "NotFound"}:
            message = f"No archive at {location}."
        elif code in {
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "403",
            "Forbidden",
            "ExpiredToken",
            "InvalidToken",
        }:
            message = (
                f"{_endpoint()} refused access to {location} ({code}): check the keys "
                "(S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY, or PAWFILE_BACKUP_S3_*)."
            )
        else:
            said = error.get("Message", "")
            message = f"{_endpoint()} answered {code or status} for {location}: {said}"
        raise ArchiveError(message.strip()) from None
    except NoCredentialsError:
        raise ArchiveError(
            "No S3 credentials: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or "
            "PAWFILE_BACKUP_S3_*), or give the machine a role."
        ) from None
    except ConnectionError as exc:
        raise ArchiveError(
            f"Cannot reach the object store at {_endpoint()} ({type(exc).__name__})."
        ) from None
    except BotoCoreError as exc:
        raise ArchiveError(f"S3 error for {location}: {exc}") from None


class S3Upload(io.RawIOBase):
    """A write-only stream that stores what it is given as one object, by multipart upload.

    Parts go out as they fill (see ``PART_SIZE``); ``complete`` sends the rest and makes the
    object appear; ``abort`` drops every part sent. ``size`` is the bytes written so far.
    """

    def __init__(self, client: Any, location: S3Location) -> None:
        super().__init__()
        self.client, self.location = client, location
        self.size = 0
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        extra: dict[str, str] = {}
        sse = settings.PAWFILE_BACKUP_S3["sse"]
        if sse != "none":
            extra["ServerSideEncryption"] = sse
            if sse == "aws:kms" and settings.PAWFILE_BACKUP_S3["sse_kms_key_id"]:
                extra["SSEKMSKeyId"] = settings.PAWFILE_BACKUP_S3["sse_kms_key_id"]
        with s3_errors(location):
            made = client.create_multipart_upload(
                Bucket=location.bucket, Key=location.key, ContentType="application/octet-stream",
                **extra,
            )  # fmt: skip
        self._upload_id: str = made["UploadId"]

    def writable(self) -> bool:
        return True

    def _part_size(self) -> int:
        return PART_SIZE * 2 ** (len(self._parts) // PARTS_PER_SIZE)

    def write(self, data: Any) -> int:
        self._buffer += data
        count = len(data) if isinstance(data, bytes | bytearray) else memoryview(data).nbytes
        self.size += count
        while len(self._buffer) >= self._part_size():
            size = self._part_size()
            with memoryview(self._buffer) as view:
                part = bytes(view[:size])  # one copy, not two
            del self._buffer[:size]
            self._send(part)
            del part
        return count

    def _send(self, body: bytes) -> None:
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise ArchiveError("The archive is too large for one S3 object (10,000 parts).")
        with s3_errors(self.location):
            sent = self.client.upload_part(
                Bucket=self.location.bucket, Key=self.location.key, UploadId=self._upload_id,
                PartNumber=number, Body=body,
            )  # fmt: skip
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def complete(self) -> None:
        """Send the last part and make the object appear under its key."""
        if self._buffer or not self._parts:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        with s3_errors(self.location):
            self.client.complete_multipart_upload(
                Bucket=self.location.bucket, Key=self.location.key, UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )  # fmt: skip

    def abort(self) -> None:
        """Drop the parts sent (best effort: a store that is gone keeps them until its own
        lifecycle rule for incomplete uploads removes them)."""
        self._buffer.clear()
        # the error that made us abort is the one to report
        with contextlib.suppress(Exception):
            self.client.abort_multipart_upload(
                Bucket=self.location.bucket, Key=self.location.key, UploadId=self._upload_id
            )


@contextmanager
def s3_archive_write(location: S3Location, *, recipient: str = "") -> Iterator[ArchiveWriter]:
    """Write an archive as the object ``location`` (see ``archive.archive_stream``); it
    appears only once complete. The yielded writer's ``archive_size`` is set on success."""
    upload = S3Upload(s3_client(), location)
    try:
        with archive_stream(cast(IO[bytes], upload), recipient=recipient) as writer:
            yield writer
        upload.complete()
    except BaseException:
        upload.abort()
        raise
    writer.archive_size = upload.size


@contextmanager
def s3_download(location: S3Location, *, folder: Path | None = None) -> Iterator[Path]:
    """The archive at ``location`` copied to a temporary file in ``folder`` (or the
    system's temporary folder), removed afterwards; boto3 fetches ranged parts in parallel,
    straight to disk."""
    client = s3_client()
    with tempfile.TemporaryDirectory(prefix=".s3-download-", dir=folder) as tmp:
        path = Path(tmp) / (location.name or "archive")
        with s3_errors(location):
            client.head_object(Bucket=location.bucket, Key=location.key)
            client.download_file(location.bucket, location.key, str(path))
        yield path


def s3_bucket_check(location: S3Location) -> None:
    """One round trip: the bucket exists and the keys may use it (``ArchiveError``)."""
    with s3_errors(location, bucket_call=True):
        s3_client().head_bucket(Bucket=location.bucket)


def s3_archives(prefix: S3Location) -> list[tuple[datetime, S3Location]]:
    """The archives Pawfile wrote right under ``prefix``, newest first (nothing else)."""
    client = s3_client()
    found = []
    with s3_errors(prefix):
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=prefix.bucket, Prefix=prefix.key, Delimiter="/"
        )
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(prefix.key) :]
                match = ARCHIVE.match(name)
                if match:
                    when = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                    found.append((when, prefix.child(name)))
    return sorted(found, key=lambda item: item[0], reverse=True)


def s3_archives_prune(
    prefix: S3Location, *, hourly: int, daily: int, weekly: int
) -> list[S3Location]:
    """Delete the archives under ``prefix`` that ``archives_to_keep`` does not keep; the
    ones deleted. Other objects are never touched."""
    found = s3_archives(prefix)
    keep = archives_to_keep([when for when, _ in found], hourly=hourly, daily=daily, weekly=weekly)
    doomed = [location for when, location in found if when not in keep]
    client = s3_client()
    for start in range(0, len(doomed), 1000):  # DeleteObjects takes 1,000 keys at a time
        batch = doomed[start : start + 1000]
        with s3_errors(prefix):
            answer = client.delete_objects(
                Bucket=prefix.bucket,
                Delete={"Objects": [{"Key": item.key} for item in batch], "Quiet": True},
            )
        if answer.get("Errors"):  # per key, in a 200 answer
            first = answer["Errors"][0]
            raise ArchiveError(
                f"{_endpoint()} refused to delete {len(answer['Errors'])} old archive(s) under "
                f"{prefix}: {first.get('Key')}: {first.get('Code')}"
            )
    return doomed
