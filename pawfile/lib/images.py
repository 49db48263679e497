"""Uploaded images, decoded for real before anything is stored.

``image_open`` trusts neither the file name nor the declared content type: it reads the
bytes with Pillow, accepts only raster formats we serve (JPEG, PNG, WebP, GIF), refuses
decompression bombs (too many pixels) and files that are truncated or not images at all,
and returns the decoded picture with EXIF orientation applied. The original bytes are never
stored; callers re-encode, which drops EXIF and GPS.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from pawfile.lib.errors import Invalid

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}
MAX_PIXELS = 40_000_000  # 40 megapixels: a phone photo is ~12-50; a bomb is far more
MAX_BYTES = 15 * 1024 * 1024


class ImageRejected(Invalid):
    """The upload is not an image we accept; the message says why, for a person. An
    ``Invalid`` about the field ``file`` (views showing it on another field rename it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


@dataclass(frozen=True)
class CropBox:
    """A square crop in source pixels: left, top, size."""

    left: int
    top: int
    size: int


def _read_limited(upload: IO[bytes], max_bytes: int) -> bytes:
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageRejected(
            _("The file is larger than %(mb)s MB.") % {"mb": max_bytes // (1024 * 1024)}
        )
    if not data:
        raise ImageRejected(_("The file is empty."))
    return data


def image_open(
    upload: IO[bytes], *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> Image.Image:
    """Decode ``upload`` fully; raise ``ImageRejected`` with a readable reason."""
    data = _read_limited(upload, max_bytes)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head:
        raise ImageRejected(_("SVG images are not accepted; upload a JPEG, PNG or WebP."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in ACCEPTED_FORMATS:
                raise ImageRejected(
                    _("%(fmt)s images are not accepted; upload a JPEG, PNG or WebP.")
                    % {"fmt": probe.format or "This kind of"}
                )
            if probe.width * probe.height > max_pixels:
                raise ImageRejected(
                    _("The image is too large (%(w)s×%(h)s pixels).")
                    % {"w": probe.width, "h": probe.height}
                )
            probe.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(_("The image has too many pixels.")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRejected(_("The file is not an image, or it is damaged.")) from None
    image = ImageOps.exif_transpose(probe) or probe
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert(
            "RGBA" if "transparency" in image.info or image.mode in ("LA", "P") else "RGB"
        )
    return image


def image_square(image: Image.Image, crop: CropBox | None) -> Image.Image:
    """Crop to ``crop`` (clamped to the picture), or the centred largest square."""
    if crop is None:
        side = min(image.width, image.height)
        crop = CropBox((image.width - side) // 2, (image.height - side) // 2, side)
    left = max(0, min(crop.left, image.width - 1))
    top = max(0, min(crop.top, image.height - 1))
    side = max(1, min(crop.size, image.width - left, image.height - top))
    return image.crop((left, top, left + side, top + side))


def image_encode(image: Image.Image, *, size: int, fmt: str) -> bytes:
    """Resize to at most ``size`` square and encode as ``webp`` or ``jpeg`` (no metadata)."""
    copy = image.copy()
    copy.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if fmt == "jpeg":
        if copy.mode != "RGB":
            background = Image.new("RGB", copy.size, (255, 255, 255))
            background.paste(copy, mask=copy.getchannel("A") if copy.mode == "RGBA" else None)
            copy = background
        copy.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    else:
        copy.save(out, "WEBP", quality=82, method=4)
    return out.getvalue()
