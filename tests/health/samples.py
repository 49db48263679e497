"""Files and records for the health tests: a PDF built by hand, a real PNG, hostile uploads."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def minimal_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table, written byte by byte."""
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1,
        xref,
    )
    return bytes(out)


def png_bytes(size: tuple[int, int] = (24, 16)) -> bytes:
    """A real PNG with transparency (so it is kept as PNG when re-encoded)."""
    out = io.BytesIO()
    Image.new("RGBA", size, (200, 30, 30, 128)).save(out, "PNG")
    return out.getvalue()


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("certificate.pdf", minimal_pdf())
    return out.getvalue()


def _too_big() -> bytes:
    return b"%PDF-1.4\n" + b"0" * (15 * 1024 * 1024) + b"\n%%EOF\n"


# name -> (filename, bytes, declared content type): each must be refused. Built on demand,
# so the 15 MB one exists only in the test that uses it.
HOSTILE = {
    "renamed_text": lambda: (
        "vaccine.pdf",
        b"Just some text pretending to be a PDF.\n",
        "application/pdf",
    ),
    "truncated_pdf": lambda: ("cert.pdf", minimal_pdf()[:-40], "application/pdf"),
    "svg_with_script": lambda: (
        "photo.png",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "image/png",
    ),
    "zip": lambda: ("report.pdf", zip_bytes(), "application/pdf"),
    "empty": lambda: ("empty.pdf", b"", "application/pdf"),
    "too_big": lambda: ("huge.pdf", _too_big(), "application/pdf"),
}


def upload(name: str, data: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files() -> list[Path]:
    """Every file under the media folder of this test."""
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def days(n: int) -> dt.date:
    """Today plus ``n`` days (negative: in the past), in the site's time zone."""
    from django.utils import timezone

    return timezone.localdate() + dt.timedelta(days=n)
