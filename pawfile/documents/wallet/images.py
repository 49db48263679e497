"""The pictures of an Apple Wallet pass, drawn with Pillow.

``paw_png`` draws the site's paw mark (``static/pawfile/favicon.svg``: a teal rounded square
with a white paw) at any size, so no binary file ships with the code; it is drawn four times
larger and scaled down for smooth edges, and kept per size for the life of the process.
``thumbnail_png`` fits the pet's photo in a square (at most 90×90 points: 90 or 180 pixels).
"""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageDraw

from pawfile.lib.images import ImageRejected, image_open

TEAL = (15, 118, 110, 255)
WHITE = (255, 255, 255, 255)
SUPERSAMPLE = 4
THUMBNAIL_POINTS = 90


def _toe(size: int, cx: float, cy: float, angle: float) -> Image.Image:
    """One toe (an ellipse 11×15 of the 64-unit drawing) on a clear layer, turned ``angle``°."""
    unit = size / 64
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.ellipse(
        ((cx - 5.5) * unit, (cy - 7.5) * unit, (cx + 5.5) * unit, (cy + 7.5) * unit), fill=WHITE
    )
    if angle:
        layer = layer.rotate(
            -angle, center=(cx * unit, cy * unit), resample=Image.Resampling.BICUBIC
        )
    return layer


@functools.cache
def paw_png(pixels: int) -> bytes:
    """The paw mark as a ``pixels``-square PNG."""
    size = pixels * SUPERSAMPLE
    unit = size / 64
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=14 * unit, fill=TEAL)
    for cx, cy, angle in ((20, 24, -15), (32, 18, 0), (44, 24, 15)):
        image.alpha_composite(_toe(size, cx, cy, angle))
    # The pad: a rounded heap with two lobes at the bottom (the SVG's path, as three ellipses).
    draw = ImageDraw.Draw(image)
    draw.ellipse((18 * unit, 30 * unit, 46 * unit, 50 * unit), fill=WHITE)
    draw.ellipse((17 * unit, 39 * unit, 34 * unit, 53 * unit), fill=WHITE)
    draw.ellipse((30 * unit, 39 * unit, 47 * unit, 53 * unit), fill=WHITE)
    image = image.resize((pixels, pixels), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def thumbnail_png(photo: bytes, scale: int) -> bytes | None:
    """``photo`` cropped to a square of ``90 × scale`` pixels as PNG; ``None`` if it cannot be
    read (the pass is then made without a thumbnail)."""
    try:
        with image_open(io.BytesIO(photo)) as source:
            picture = source.convert("RGB")
    except (ImageRejected, OSError, ValueError):
        return None
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    pixels = THUMBNAIL_POINTS * scale
    picture = picture.crop((left, top, left + side, top + side))
    picture = picture.resize((pixels, pixels), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "PNG", optimize=True)
    return out.getvalue()
