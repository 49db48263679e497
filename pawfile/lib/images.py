"""Uploaded images, decoded for real before anything is stored, within a memory budget.

``image_square_open`` (photos) and ``image_reencode`` (attachments) trust neither the file
name nor the declared content type: they read the bytes with Pillow, accept only raster
formats we serve (JPEG, PNG, WebP, GIF), refuse decompression bombs (too many pixels) and
files that are truncated or not images at all, and apply the EXIF orientation. The original
bytes are never stored; what is stored is re-encoded, which drops EXIF and GPS.

Memory: a 40-megapixel picture is 120-160 MB once decoded, however small its file. Photos
are decoded no larger than the largest variant needs (a JPEG scaled down while it is
decoded, the square cut and reduced in one step, no copy of the whole picture), and a
process holds at most ``PAWFILE_IMAGE_MEMORY`` megabytes of large decoded pictures at once
(``image_decode_slot``); after one, the C library is asked to hand freed memory back to the
system.
"""

from __future__ import annotations

import ctypes
import io
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from pawfile.lib.errors import Invalid

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}
MAX_PIXELS = 40_000_000  # 40 megapixels: a phone photo is ~12-50; a bomb is far more
MAX_BYTES = 15 * 1024 * 1024
# A decode of more pixels than this waits for a slot (4 MP: 12-16 MB decoded).
LARGE_DECODE_PIXELS = 4_000_000
ORIENTATION_TAG = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Modes Pillow resamples by averaging (a palette's indices cannot be averaged).
_RESAMPLED_MODES = {"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"}


class _DecodeBudget:
    """Bytes of decoded pictures a process may hold at once. A decode reserves its share
    before it starts and waits while the budget is spent; one larger than the whole budget
    reserves all of it, so it runs alone."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._changed = threading.Condition()

    def reserve(self, amount: int) -> int:
        amount = min(amount, self.total)
        with self._changed:
            self._changed.wait_for(lambda: self.used + amount <= self.total)
            self.used += amount
        return amount

    def give_back(self, amount: int) -> None:
        with self._changed:
            self.used -= amount
            self._changed.notify_all()


_budget: _DecodeBudget | None = None
_budget_lock = threading.Lock()


def _decode_budget() -> _DecodeBudget:
    global _budget
    with _budget_lock:
        if _budget is None:
            _budget = _DecodeBudget(settings.PAWFILE_IMAGE_MEMORY * 1024 * 1024)
        return _budget


def decoded_bytes(image: Image.Image) -> int:
    """What decoding ``image`` (opened, possibly drafted) takes: Pillow keeps 1 byte a pixel
    for grey and palette pictures, 2 for 16-bit grey, 4 for everything else (RGB too), plus
    a quarter for the reduced copy a resize makes on the way."""
    per_pixel = 1 if image.mode in ("1", "L", "P") else 2 if image.mode.startswith("I;16") else 4
    return image.width * image.height * per_pixel * 5 // 4


def _malloc_trim() -> None:
    """Hand memory freed by a large decode back to the system (glibc only; elsewhere a
    no-op). Pillow frees a decoded picture in blocks that glibc otherwise keeps in the
    thread's arena for reuse, so a burst of large uploads left the worker big for good."""
    if _libc_trim is not None:
        _libc_trim(0)


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


_libc_trim = _find_malloc_trim()


@contextmanager
def image_decode_slot(image: Image.Image) -> Iterator[None]:
    """Reserve what decoding ``image`` (opened, not yet decoded) takes from the process's
    ``PAWFILE_IMAGE_MEMORY`` budget, for as long as the decoded picture is in memory; a
    picture of at most ``LARGE_DECODE_PIXELS`` needs no reservation. Waits while the budget
    is spent; returns freed memory to the system when it ends."""
    if image.width * image.height <= LARGE_DECODE_PIXELS:
        yield
        return
    budget = _decode_budget()
    reserved = budget.reserve(decoded_bytes(image))
    try:
        yield
    finally:
        budget.give_back(reserved)
        _malloc_trim()


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


@contextmanager
def _refusals() -> Iterator[None]:
    """Turns Pillow's complaints while opening or decoding into ``ImageRejected``.

    Pillow's own bomb warning is not made an error here (warning filters are global to the
    process, and uploads run in threads): a picture big enough to cause it is refused by
    the pixel limit before it is decoded."""
    try:
        yield
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(_("The image has too many pixels.")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRejected(_("The file is not an image, or it is damaged.")) from None


def _probe(data: bytes, max_pixels: int) -> Image.Image:
    """The picture opened (its header read, nothing decoded) once format and size pass."""
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head:
        raise ImageRejected(_("SVG images are not accepted; upload a JPEG, PNG or WebP."))
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
    return probe


def _target_mode(image: Image.Image) -> str:
    if image.mode in ("RGB", "RGBA"):
        return image.mode
    if "transparency" in image.info or image.mode in ("LA", "P", "PA"):
        return "RGBA"
    return "RGB"


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8; 1 when absent or unreadable). PNG reads it only once
    decoded; JPEG and WebP have it from the header."""
    try:
        value = int(image.getexif().get(ORIENTATION_TAG, 1))
    except Exception:  # a damaged EXIF block only loses the rotation, as in browsers
        return 1
    return value if value in _TRANSPOSE else 1


def image_open(
    upload: IO[bytes], *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> Image.Image:
    """Decode ``upload`` at full size, upright, in RGB or RGBA.

    Takes a file of at most ``max_bytes`` and ``max_pixels``; raises ``ImageRejected`` with a
    readable reason. The caller holds an ``image_decode_slot`` for the picture's pixels while
    the result is in memory (``image_reencode`` does).
    """
    data = _read_limited(upload, max_bytes)
    with _refusals():
        image = _probe(data, max_pixels)
        image.load()
    ImageOps.exif_transpose(image, in_place=True)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert(_target_mode(image))
    return image


def image_reencode(data: bytes, *, max_pixels: int = MAX_PIXELS) -> tuple[bytes, str, str]:
    """``(data, content_type, extension)``: the picture in ``data`` at full size, upright, as
    PNG (with transparency) or JPEG, with no metadata. Raises ``ImageRejected``.

    Holds a decode slot while the picture is in memory (see ``image_decode_slot``).
    """
    with _refusals():
        probe = _probe(data, max_pixels)
    with image_decode_slot(probe):
        image = image_open(io.BytesIO(data), max_bytes=len(data), max_pixels=max_pixels)
        out = io.BytesIO()
        if image.mode == "RGBA":
            image.save(out, "PNG", optimize=True)
            result = out.getvalue(), "image/png", "png"
        else:
            image.save(out, "JPEG", quality=88)
            result = out.getvalue(), "image/jpeg", "jpg"
        image.close()
    return result


def _square_box(width: int, height: int, crop: CropBox | None) -> tuple[int, int, int]:
    """``(left, top, side)`` of ``crop`` clamped to an upright ``width``×``height`` picture,
    or of its centred largest square."""
    if crop is None:
        side = min(width, height)
        return (width - side) // 2, (height - side) // 2, side
    left = max(0, min(crop.left, width - 1))
    top = max(0, min(crop.top, height - 1))
    return left, top, max(1, min(crop.size, width - left, height - top))


def _stored_box(
    box: tuple[float, float, float, float], orientation: int, upright: tuple[int, int]
) -> tuple[float, float, float, float]:
    """``box`` (left, top, right, bottom in upright pixels) in the pixels as stored, before
    the EXIF orientation is applied; ``upright`` is the upright picture's size."""
    w, h = upright
    to_stored: dict[int, Callable[[float, float], tuple[float, float]]] = {
        1: lambda x, y: (x, y),
        2: lambda x, y: (w - x, y),
        3: lambda x, y: (w - x, h - y),
        4: lambda x, y: (x, h - y),
        5: lambda x, y: (y, x),
        6: lambda x, y: (y, w - x),
        7: lambda x, y: (h - y, w - x),
        8: lambda x, y: (h - y, x),
    }
    (x1, y1), (x2, y2) = (
        to_stored[orientation](box[0], box[1]),
        to_stored[orientation](box[2], box[3]),
    )
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def image_square_open(
    upload: IO[bytes],
    *,
    crop: CropBox | None,
    side: int,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> Image.Image:
    """The square of ``upload`` chosen by ``crop`` (upright source pixels, clamped to the
    picture; the centred largest square without one), upright, at most ``side`` pixels
    wide, in RGB or RGBA. Raises ``ImageRejected`` with a readable reason.

    Decodes within a memory budget: a JPEG is decoded already scaled down (``draft``, by
    1/2, 1/4 or 1/8) as far as the square still has ``side`` pixels; the square is then cut
    and reduced from the decoded picture in one step (``resize`` with a box and a reducing
    gap), never copying the whole picture; a large decode waits for an
    ``image_decode_slot``.
    """
    data = _read_limited(upload, max_bytes)
    with _refusals():
        image = _probe(data, max_pixels)
        width, height = image.size
        # A JPEG's orientation is in its header (it decides the draft); others' once decoded.
        orientation = _orientation(image) if image.format in ("JPEG", "MPO") else 1
        upright = (height, width) if orientation >= 5 else (width, height)
        left, top, square = _square_box(*upright, crop)
        if image.format in ("JPEG", "MPO") and square > side:
            ratio = side / square
            image.draft(None, (math.ceil(width * ratio), math.ceil(height * ratio)))
        with image_decode_slot(image):
            image.load()
            if image.format not in ("JPEG", "MPO"):
                orientation = _orientation(image)
                upright = (height, width) if orientation >= 5 else (width, height)
                left, top, square = _square_box(*upright, crop)
            scale = image.width / width  # decoded pixels per source pixel (a JPEG draft)
            box = _stored_box(
                (left * scale, top * scale, (left + square) * scale, (top + square) * scale),
                orientation,
                (round(upright[0] * scale), round(upright[1] * scale)),
            )
            out = max(1, min(side, math.floor(square * scale)))
            result = _square_resized(image, box, out)
            image.close()
    if orientation != 1:
        result = result.transpose(_TRANSPOSE[orientation])
    return result


def _square_resized(
    image: Image.Image, box: tuple[float, float, float, float], out: int
) -> Image.Image:
    """``box`` of ``image`` as an ``out``×``out`` picture in RGB or RGBA (a new, small one)."""
    mode = _target_mode(image)
    if image.mode not in _RESAMPLED_MODES:
        # Palettes and odd modes cannot be averaged: pick pixels down to twice the size,
        # convert that small picture, then resample it properly.
        between = max(out, min(2 * out, math.ceil(box[2] - box[0])))
        image = image.resize((between, between), Image.Resampling.NEAREST, box=box)
        image = image.convert(mode)
        box = (0, 0, between, between)
    result = image.resize((out, out), Image.Resampling.LANCZOS, box=box, reducing_gap=2.0)
    return result if result.mode == mode else result.convert(mode)


def image_encode(image: Image.Image, *, size: int, fmt: str) -> bytes:
    """``image`` (square, RGB or RGBA) at most ``size`` pixels wide, encoded as ``webp`` or
    ``jpeg`` with no metadata. Makes no copy of ``image`` at its own size."""
    picture = image
    if image.width > size:
        picture = image.resize((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if fmt == "jpeg":
        if picture.mode != "RGB":
            background = Image.new("RGB", picture.size, (255, 255, 255))
            background.paste(
                picture, mask=picture.getchannel("A") if picture.mode == "RGBA" else None
            )
            picture = background
        picture.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    else:
        picture.save(out, "WEBP", quality=82, method=4)
    return out.getvalue()
