"""The backup archive: one tar stream, optionally encrypted with age, and its manifest.

Layout (tar members, in this order): ``db/…`` (the database files or dump), ``media/<name>``
(every stored file, under its storage name), ``keys/…`` (key files the data dir holds, if
any), and last ``manifest.json``: the SHA-256 and size of every other member, the tables'
row counts, the migrations applied, the version that wrote it. The manifest comes last so
the archive is written in one pass; a reader therefore checks everything at the end.

Encryption uses age (``pyrage``) to an X25519 recipient (``age1…``) or an SSH public key:
the server only ever holds the public half. Reading an encrypted archive takes an identity
file (``AGE-SECRET-KEY-1…`` lines, as ``age-keygen`` writes them). Both directions stream
through a pipe, so memory stays flat whatever the archive's size.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyrage

MANIFEST = "manifest.json"
FORMAT = 1
AGE_MAGIC = b"age-encryption.org/v1\n"
CHUNK = 1024 * 1024


class ArchiveError(Exception):
    """The archive cannot be written, opened or trusted; the message says why."""


@dataclass
class Manifest:
    """What an archive holds (see the module docstring)."""

    engine: str  # "sqlite" or "postgresql"
    version: str
    created_at: str
    migrations: dict[str, list[str]] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    format: int = FORMAT

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise ArchiveError(
                    f"This archive's format is {raw.get('format')!r}; this Pawfile reads {FORMAT}."
                )
            return cls(**raw)
        except (ValueError, TypeError) as exc:
            raise ArchiveError(f"The archive's manifest is unreadable: {exc}") from None

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def media(self) -> list[str]:
        """The storage names of the stored files, in archive order."""
        return [name[len("media/") :] for name in self.files if name.startswith("media/")]


def recipient_parse(text: str) -> Any:
    """An age recipient from ``age1…`` or an SSH public key; ``ArchiveError`` otherwise."""
    text = text.strip()
    try:
        if text.startswith("age1"):
            return pyrage.x25519.Recipient.from_str(text)
        if text.startswith(("ssh-", "ecdsa-")):
            return pyrage.ssh.Recipient.from_str(text)
    except pyrage.RecipientError as exc:
        raise ArchiveError(f"Not a usable age recipient: {exc}") from None
    raise ArchiveError("An age recipient starts with 'age1' (or is an SSH public key).")


def identities_read(path: Path) -> list[Any]:
    """The age identities in the file at ``path``; ``ArchiveError`` when it holds none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ArchiveError(f"Cannot read the identity file {path}: {exc.strerror}") from None
    found = []
    for line in lines:
        line = line.strip()
        if line.startswith("AGE-SECRET-KEY-"):
            try:
                found.append(pyrage.x25519.Identity.from_str(line))
            except pyrage.IdentityError as exc:
                raise ArchiveError(f"{path}: not a valid age identity: {exc}") from None
    if not found:
        raise ArchiveError(f"{path} holds no age identity (AGE-SECRET-KEY-1… line).")
    return found


class _Hashing(io.RawIOBase):
    """Reads from ``source``, hashing what passes."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source, self.sha, self.size = source, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.source.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


class ArchiveWriter:
    """Adds members to the tar stream, recording each one's hash for the manifest."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.files: dict[str, dict[str, Any]] = {}
        self.archive_size = 0  # the archive's bytes, set once it is complete

    def add(self, name: str, source: IO[bytes], size: int) -> None:
        """Add ``size`` bytes read from ``source`` as member ``name``."""
        info = tarfile.TarInfo(name)
        info.size, info.mode = size, 0o600
        reader = _Hashing(source)
        self.tar.addfile(info, reader)
        self.files[name] = {"sha256": reader.sha.hexdigest(), "size": reader.size}

    def add_path(self, name: str, path: Path) -> None:
        with path.open("rb") as handle:
            self.add(name, handle, path.stat().st_size)

    def finish(self, manifest: Manifest) -> None:
        """Write the manifest (with every member's hash) as the last member."""
        manifest.files = dict(self.files)
        data = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode = len(data), 0o600
        self.tar.addfile(info, io.BytesIO(data))


class _Pump(threading.Thread):
    """Runs one age stream function in a thread, keeping its error for the caller."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as exc:
            self.error = exc


@contextmanager
def archive_stream(out: IO[bytes], *, recipient: str = "") -> Iterator[ArchiveWriter]:
    """Write an archive into the binary stream ``out`` (left open), encrypted to
    ``recipient`` when given. Nothing is buffered beyond the tar's and age's own blocks: a
    stream that uploads as it goes (``s3.S3Upload``) keeps memory flat. The caller calls
    ``finish`` with the manifest last."""
    target = recipient_parse(recipient) if recipient else None
    if target is None:
        with tarfile.open(fileobj=out, mode="w|", bufsize=CHUNK) as tar:
            yield ArchiveWriter(tar)
        return
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as pipe_in:
        pump = _Pump(lambda: pyrage.encrypt_io(pipe_in, out, [target]))
        pump.start()
        try:
            with (
                os.fdopen(write_end, "wb") as pipe_out,
                tarfile.open(fileobj=pipe_out, mode="w|", bufsize=CHUNK) as tar,
            ):
                yield ArchiveWriter(tar)
        finally:
            pump.join()
        if pump.error is not None:
            raise ArchiveError(f"Encrypting the archive failed: {pump.error}")


@contextmanager
def archive_write(path: Path, *, recipient: str = "") -> Iterator[ArchiveWriter]:
    """Write an archive to ``path`` (mode 600), encrypted to ``recipient`` when given.

    It is written under a ``.partial`` name and renamed once complete: a crash leaves no file
    that looks like a backup. The caller calls ``finish`` with the manifest last.
    """
    partial = path.with_name(path.name + ".partial")
    if recipient:
        recipient_parse(recipient)  # refused before any file is made
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            with archive_stream(out, recipient=recipient) as writer:
                yield writer
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
        writer.archive_size = path.stat().st_size
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@contextmanager
def _plain_stream(path: Path, identities: list[Any]) -> Iterator[IO[bytes]]:
    """The archive's tar bytes: the file itself, or its decryption through a pipe."""
    with path.open("rb") as source:
        encrypted = source.read(len(AGE_MAGIC)) == AGE_MAGIC
        source.seek(0)
        if not encrypted:
            yield source
            return
        if not identities:
            raise ArchiveError("This archive is encrypted: give the key file with --identity.")
        read_end, write_end = os.pipe()
        pipe_out = os.fdopen(write_end, "wb")

        def decrypt() -> None:
            with pipe_out:
                pyrage.decrypt_io(source, pipe_out, identities)

        pump = _Pump(decrypt)
        pump.start()
        pipe_in = os.fdopen(read_end, "rb")
        failure: BaseException | None = None
        try:
            yield pipe_in
        except (tarfile.TarError, EOFError, OSError) as exc:
            failure = exc
        finally:
            pipe_in.close()  # a writer still going gets EPIPE and ends
            pump.join()
        if isinstance(pump.error, pyrage.DecryptError):
            raise ArchiveError(f"Cannot decrypt the archive: {pump.error}.")
        if failure is not None:
            raise failure


Sink = Callable[[str, IO[bytes]], None]


def archive_read(path: Path, *, identities: list[Any], sink: Sink) -> Manifest:
    """Read every member of the archive at ``path``, hand each but the manifest to
    ``sink(name, stream)``, and check them all against the manifest.

    Raises ``ArchiveError`` for an unreadable, truncated or tampered archive: a member whose
    hash or size differs, one missing, one the manifest does not list.
    """
    seen: dict[str, dict[str, Any]] = {}
    manifest_data = None
    try:
        with (
            _plain_stream(path, identities) as stream,
            tarfile.open(fileobj=stream, mode="r|", bufsize=CHUNK) as tar,
        ):
            for member in tar:
                if not member.isfile():
                    raise ArchiveError(f"Unexpected member {member.name!r} in the archive.")
                extracted = tar.extractfile(member)
                assert extracted is not None
                if member.name == MANIFEST:
                    manifest_data = extracted.read()
                    continue
                reader = _Hashing(extracted)
                sink(member.name, reader)  # type: ignore[arg-type]
                while reader.read(CHUNK):  # what the sink left unread still counts
                    pass
                seen[member.name] = {"sha256": reader.sha.hexdigest(), "size": reader.size}
            while stream.read(CHUNK):  # to the end: age checks its last chunk there
                pass
    except (tarfile.TarError, EOFError) as exc:
        raise ArchiveError(f"The archive is damaged or cut short ({exc}).") from None
    except FileNotFoundError:
        raise ArchiveError(f"No archive at {path}.") from None
    if manifest_data is None:
        raise ArchiveError("The archive has no manifest: it is cut short or not a backup.")
    manifest = Manifest.from_json(manifest_data)
    problems = [f"{name}: missing" for name in manifest.files if name not in seen]
    problems += [f"{name}: not in the manifest" for name in seen if name not in manifest.files]
    problems += [
        f"{name}: SHA-256 or size differs"
        for name, expected in manifest.files.items()
        if name in seen and seen[name] != expected
    ]
    if problems:
        raise ArchiveError("The archive does not match its manifest: " + "; ".join(problems[:10]))
    return manifest
