"""Photos are decoded within a memory budget: eight 40-megapixel uploads at once stay small
and memory comes back afterwards; the budgeted decode (a JPEG scaled while decoded, the
square cut and reduced in one step, EXIF orientation applied last) keeps exactly the square
the person chose, in every orientation."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from pawfile.lib import images
from pawfile.lib.images import CropBox, image_square_open

ROOT = Path(__file__).resolve().parents[2]
MB = 1024


def test_eight_large_uploads_at_once_keep_the_peak_small(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))}
    for name in ("DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER"):
        env.pop(name, None)
    env |= {"PAWFILE_DATA_DIR": str(tmp_path / "data"), "PAWFILE_LOG_LEVEL": "WARNING"}
    run = subprocess.run(
        [sys.executable, "-m", "tests.pets.photo_memory"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures["errors"] == []
    assert figures["photos"] == 9  # the warm-up photo and the eight large ones
    assert 100_000 < figures["png_bytes"] < 200_000
    rise = figures["peak_kb"] - figures["before_kb"]
    assert rise < 300 * MB, f"peak RSS rose by {rise // MB} MB during the burst"
    left = figures["after_kb"] - figures["before_kb"]
    assert left < 64 * MB, f"{left // MB} MB more than before stayed after the burst"


def _halves_and_quarters(size: tuple[int, int]) -> Image.Image:
    """Four colours, one per quarter, so any wrong turn or crop shows."""
    w, h = size
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (w // 2, 0, w, h // 2))
    image.paste((0, 160, 0), (0, h // 2, w // 2, h))
    image.paste((250, 250, 0), (w // 2, h // 2, w, h))
    return image


def _encoded(image: Image.Image, fmt: str, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[images.ORIENTATION_TAG] = orientation
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    return out.getvalue()


def _reference(data: bytes, crop: CropBox | None, side: int) -> Image.Image:
    """The plain way: decode everything, turn upright, cut, shrink."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    left, top, square = images._square_box(image.width, image.height, crop)
    image = image.crop((left, top, left + square, top + square))
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return image


def _differs(a: Image.Image, b: Image.Image) -> int:
    assert a.size == b.size
    worst = 0
    for x in range(4, a.width, max(1, a.width // 16)):
        for y in range(4, a.height, max(1, a.height // 16)):
            pa, pb = a.getpixel((x, y)), b.getpixel((x, y))
            worst = max(worst, *(abs(p - q) for p, q in zip(pa, pb, strict=True)))  # type: ignore[arg-type]
    return worst


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("crop", [None, CropBox(700, 100, 900), CropBox(50, 900, 400)])
def test_the_budgeted_square_is_the_square_the_person_chose(
    orientation: int, fmt: str, crop: CropBox | None
) -> None:
    data = _encoded(_halves_and_quarters((2400, 1600)), fmt, orientation)
    got = image_square_open(io.BytesIO(data), crop=crop, side=320)
    expected = _reference(data, crop, 320)
    assert got.size == expected.size
    assert got.mode == "RGB"
    # Colour edges may move by a pixel or two; a wrong turn or box is a whole quarter off.
    assert _differs(got.convert("RGB"), expected) < 90


def test_a_large_jpeg_is_decoded_scaled_down(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _encoded(_halves_and_quarters((5200, 4000)), "JPEG", 1)
    decoded: list[tuple[int, int]] = []
    original = images._square_resized

    def spy(image: Image.Image, box: tuple[float, float, float, float], out: int) -> Image.Image:
        decoded.append(image.size)
        return original(image, box, out)

    monkeypatch.setattr(images, "_square_resized", spy)
    square = image_square_open(io.BytesIO(data), crop=None, side=1280)
    assert square.size == (1280, 1280)
    assert decoded == [(2600, 2000)]  # 1/2: the largest reduction that keeps 1280 pixels


def test_palette_pictures_keep_their_transparency() -> None:
    image = Image.new("P", (3000, 2000), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.info["transparency"] = 0
    image.paste(0, (0, 0, 1500, 2000))
    out = io.BytesIO()
    image.save(out, "PNG", transparency=0)
    square = image_square_open(io.BytesIO(out.getvalue()), crop=None, side=400)
    assert square.mode == "RGBA" and square.size == (400, 400)
    assert square.getpixel((20, 200))[3] == 0  # type: ignore[index]
    assert square.getpixel((380, 200)) == (255, 0, 0, 255)


def test_large_decodes_wait_for_the_memory_budget() -> None:
    budget = images._DecodeBudget(100)
    assert budget.reserve(60) == 60
    reserved: list[int] = []
    waiting = threading.Thread(target=lambda: reserved.append(budget.reserve(500)))
    waiting.start()
    time.sleep(0.2)
    assert reserved == []  # over budget while the first decode runs: it waits
    budget.give_back(60)
    waiting.join(timeout=5)
    assert reserved == [100]  # larger than the whole budget: it runs alone
    assert budget.used == 100


def test_attachment_pictures_take_from_the_same_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    budget = images._DecodeBudget(64 * 1024 * 1024)
    monkeypatch.setattr(images, "_budget", budget)
    seen: list[int] = []
    reserve = budget.reserve
    monkeypatch.setattr(budget, "reserve", lambda amount: seen.append(amount) or reserve(amount))
    out = io.BytesIO()
    Image.new("RGB", (2500, 2000), (9, 99, 199)).save(out, "PNG")
    data, content_type, ext = images.image_reencode(out.getvalue())
    assert (content_type, ext) == ("image/jpeg", "jpg")
    assert Image.open(io.BytesIO(data)).size == (2500, 2000)  # attachments keep their size
    assert seen == [2500 * 2000 * 4 * 5 // 4]
    assert budget.used == 0  # given back
