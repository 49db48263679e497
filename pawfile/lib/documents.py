"""Uploaded documents (attachments): PDFs checked by structure, images decoded and re-encoded.

Returns the bytes to store; the original of an image is never kept (no EXIF, no GPS).
"""

from __future__ import annotations

from typing import IO

from django.utils.translation import gettext as _

from pawfile.lib.errors import Invalid
from pawfile.lib.images import ImageRejected, _read_limited, image_reencode


def document_check(upload: IO[bytes], *, max_bytes: int) -> tuple[bytes, str, str]:
    """``(data, content_type, extension)`` of an acceptable PDF or image.

    Raises ``Invalid`` (about the field ``file``) for anything else: wrong type whatever
    its name, damaged, empty, too big, SVG, archives.
    """
    try:
        data = _read_limited(upload, max_bytes)
    except ImageRejected as exc:
        raise Invalid(exc.message, field="file") from None
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            raise Invalid(_("The PDF is incomplete or damaged."), field="file")
        return data, "application/pdf", "pdf"
    try:
        return image_reencode(data)
    except ImageRejected as exc:
        message = str(exc)
        if "not an image" in message:
            message = _("Attach a PDF or an image (JPEG, PNG, WebP).")
        raise Invalid(message, field="file") from None
