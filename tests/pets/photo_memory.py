"""Eight large photo uploads at once, measured in a process of its own.

Run by ``tests/pets/test_photo_memory.py`` as ``python -m tests.pets.photo_memory`` with
``PAWFILE_DATA_DIR`` set to an empty folder: it migrates a fresh database, makes a user and a
pet, uploads one small photo (so every import and encoder is warm), then uploads a
single-colour 6300×6300 PNG (131 KB, just under the 40 MP limit) from eight threads at once
through ``photos.photo_add``. It prints one JSON line with its resident memory in kB: before
the burst, the peak during it (``VmHWM``, reset just before), right after it, and after
glibc's ``malloc_trim``. A process of its own, so nothing the test runner allocates counts.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import struct
import sys
import threading
import zlib
from pathlib import Path

SIDE = 6300
UPLOADS = 8


def single_colour_png(side: int = SIDE, colour: bytes = b"\xc8\x78\x28") -> bytes:
    """An RGB PNG of one colour, made row by row (never the whole picture in memory)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + colour * side
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def malloc_trim() -> None:
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pawfile.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from pawfile.accounts.services import user_create
    from pawfile.pets import photos
    from pawfile.pets.services import pet_create

    call_command("migrate", verbosity=0)
    user = user_create(email="alice@example.com", password=None, name="Alice")
    household = user.memberships.get().household
    pet = pet_create(actor=user, household=household, name="Rex", species="dog")

    png = single_colour_png()
    small = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (640, 480), (10, 200, 30)).save(small, "JPEG")
    photos.photo_add(actor=user, pet=pet, upload=io.BytesIO(small.getvalue()))
    connection.close()

    malloc_trim()
    before = status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS

    barrier = threading.Barrier(UPLOADS)
    errors: list[BaseException] = []

    def upload() -> None:
        barrier.wait()
        try:
            photos.photo_add(actor=user, pet=pet, upload=io.BytesIO(png))
        except BaseException as exc:  # reported to the test, which fails on it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(UPLOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    peak = status_kb("VmHWM")
    after = status_kb("VmRSS")
    malloc_trim()
    trimmed = status_kb("VmRSS")
    print(
        json.dumps(
            {
                "png_bytes": len(png),
                "before_kb": before,
                "peak_kb": peak,
                "after_kb": after,
                "trimmed_kb": trimmed,
                "photos": pet.photos.count(),
                "errors": [repr(e) for e in errors],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
