"""The images of a code: PNG and SVG (drawn from segno's module matrix) and a print PDF.

Every image encodes ``scan_url(code, printed=True)``: the code's ``/r/{id}`` address with the
marker that tells a scan of the printed code from a typed or shared link. What an image shows
depends only on that address and the style, so ``image_etag`` is a hash of both and the
responses may be cached for a year (a changed style changes the tag and the URL's query).

Layout: the quiet zone (``quiet_zone`` modules in the background colour) surrounds the code;
a logo covers the centre (at most ``LOGO_SHARE`` of the code's width, on a background pad;
error correction is then H, set by ``style.style_clean``); frame text is drawn in a band
below the code, in the code's colour.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import io
import json
import tempfile
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

import segno
import typst
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont

from pawfile.lib.errors import Invalid
from pawfile.lib.images import ImageRejected, image_decode_slot, image_open
from pawfile.qr.models import QRCode

LOGO_SHARE = 0.22
LOGO_PIXELS = 512  # a stored logo is at most this wide and high
LOGO_MAX_BYTES = 2 * 1024 * 1024
PRINTED_MARKER = "q"  # ``/r/{id}?q``: the query a printed code carries
TEMPLATE = Path(__file__).resolve().parent / "typst" / "code_sheet.typ"


def scan_url(code: QRCode, *, printed: bool = False) -> str:
    """The address that leads through the redirect; ``printed`` adds the genuine-scan marker."""
    url = f"{settings.PAWFILE_BASE_URL}/r/{code.id}"
    return f"{url}?{PRINTED_MARKER}" if printed else url


def image_etag(code: QRCode) -> str:
    """A strong tag for everything an image of ``code`` shows."""
    parts = [
        scan_url(code, printed=True),
        code.fg_color,
        code.bg_color,
        str(code.module_size),
        str(code.quiet_zone),
        code.error_level,
        code.logo,
        code.frame_text,
        "1",
    ]
    return '"' + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24] + '"'


def _symbol(code: QRCode) -> segno.QRCode:
    return segno.make(
        scan_url(code, printed=True), error=code.error_level.lower(), micro=False, boost_error=False
    )


def _matrix(code: QRCode) -> list[list[bool]]:
    return [[bool(bit) for bit in row] for row in _symbol(code).matrix]


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _logo_bytes(code: QRCode) -> bytes | None:
    if not code.logo:
        return None
    try:
        with default_storage.open(code.logo, "rb") as handle:
            return bytes(handle.read())
    except OSError:
        return None  # a missing logo costs the logo, not the code


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _frame_height(code: QRCode) -> int:
    return max(3 * code.module_size, 24) if code.frame_text else 0


def code_png(code: QRCode) -> bytes:
    """The PNG of ``code`` in its style."""
    matrix = _matrix(code)
    scale, border = code.module_size, code.quiet_zone
    side = (len(matrix) + 2 * border) * scale
    band = _frame_height(code)
    fg, bg = _rgb(code.fg_color), _rgb(code.bg_color)
    image = Image.new("RGB", (side, side + band), bg)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                left, top = (x + border) * scale, (y + border) * scale
                draw.rectangle((left, top, left + scale - 1, top + scale - 1), fill=fg)
    logo = _logo_bytes(code)
    if logo is not None:
        width = int(len(matrix) * scale * LOGO_SHARE)
        with Image.open(io.BytesIO(logo)) as opened:
            picture = opened.convert("RGBA")
            picture.thumbnail((width, width))
            pad = scale // 2 + 1
            x = (side - picture.width) // 2
            y = (side - picture.height) // 2
            draw.rectangle(
                (x - pad, y - pad, x + picture.width + pad - 1, y + picture.height + pad - 1),
                fill=bg,
            )
            image.paste(picture, (x, y), picture)
    if code.frame_text:
        font = _font(int(band * 0.6))
        draw.text(
            (side // 2, side + band // 2 - border * scale // 4),
            code.frame_text,
            fill=fg,
            font=font,
            anchor="mm",
        )
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def code_svg(code: QRCode) -> bytes:
    """The SVG of ``code`` in its style (one path; units are modules)."""
    matrix = _matrix(code)
    border = code.quiet_zone
    side = len(matrix) + 2 * border
    band = _frame_height(code) / code.module_size
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start + border} {y + border}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    height = side + band
    size = code.module_size
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {height:g}" '
        f'width="{side * size}" height="{height * size:g}" shape-rendering="crispEdges">',
        f'<rect width="{side}" height="{height:g}" fill="{code.bg_color}"/>',
        f'<path fill="{code.fg_color}" d="{"".join(runs)}"/>',
    ]
    logo = _logo_bytes(code)
    if logo is not None:
        with Image.open(io.BytesIO(logo)) as picture:
            ratio = picture.height / picture.width
        width = len(matrix) * LOGO_SHARE
        w, h = (width, width * ratio) if ratio <= 1 else (width / ratio, width)
        left, top = (side - w) / 2, (side - h) / 2
        data = base64.b64encode(logo).decode()
        parts.append(
            f'<rect x="{left - 0.6:.3f}" y="{top - 0.6:.3f}" width="{w + 1.2:.3f}" '
            f'height="{h + 1.2:.3f}" fill="{code.bg_color}"/>'
        )
        parts.append(
            f'<image x="{left:.3f}" y="{top:.3f}" width="{w:.3f}" height="{h:.3f}" '
            f'href="data:image/png;base64,{data}"/>'
        )
    if code.frame_text:
        parts.append(
            f'<text x="{side / 2:g}" y="{side + band / 2 - border / 4:g}" fill="{code.fg_color}" '
            f'font-family="sans-serif" font-size="{band * 0.6:g}" text-anchor="middle" '
            f'dominant-baseline="middle">{escape(code.frame_text)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts).encode()


def logo_prepare(upload: IO[bytes]) -> bytes:
    """A logo upload as a PNG of at most ``LOGO_PIXELS`` a side (transparency kept, nothing
    else of the file). Raises ``Invalid`` about ``logo`` for anything that is not a picture."""
    try:
        image = image_open(upload, max_bytes=LOGO_MAX_BYTES, max_pixels=16_000_000)
    except ImageRejected as exc:
        raise Invalid(exc.message, field="logo") from None
    with image_decode_slot(image):
        image = image.convert("RGBA")
        image.thumbnail((LOGO_PIXELS, LOGO_PIXELS))
        out = io.BytesIO()
        image.save(out, "PNG", optimize=True)
        image.close()
    return out.getvalue()


@functools.cache
def _fonts() -> typst.Fonts:
    return typst.Fonts(include_system_fonts=False, include_embedded_fonts=True)


def code_pdf(code: QRCode) -> bytes:
    """An A4 sheet to print: the title, the code 10 cm wide (its PNG at print resolution),
    its frame text and address. Raises ``typst.TypstError`` if the template fails."""
    with tempfile.TemporaryDirectory(prefix="pawfile-qr-") as folder:
        root = Path(folder)
        main = root / TEMPLATE.name
        main.write_bytes(TEMPLATE.read_bytes())
        (root / "code.png").write_bytes(code_png(code))
        data = {
            "title": code.title,
            "url": scan_url(code),
            "hint": _("Scan the code with your phone's camera."),
        }
        pdf = typst.compile(
            main,
            root=root,
            font_paths=_fonts(),
            ignore_system_fonts=True,
            format="pdf",
            sys_inputs={"data": json.dumps(data)},
            timestamp=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        )
    assert isinstance(pdf, bytes)
    return pdf
