"""Every style the app offers is read back by a real decoder (zxing-cpp) as the exact URL.

PNGs are decoded as rendered. SVGs are rasterised by Chromium (``test_images_svg.py``).
"""

from __future__ import annotations

import io
import itertools

import pytest
import zxingcpp
from PIL import Image

from pawfile.lib.errors import Invalid
from pawfile.qr import images, services
from pawfile.qr.models import QRCode
from pawfile.qr.style import MODULE_SIZES, QUIET_ZONES, contrast, style_clean


def decode(png: bytes) -> list[str]:
    with Image.open(io.BytesIO(png)) as picture:
        return [result.text for result in zxingcpp.read_barcodes(picture.convert("RGB"))]


def logo_png() -> io.BytesIO:
    picture = Image.new("RGBA", (300, 200), (220, 30, 30, 255))
    out = io.BytesIO()
    picture.save(out, "PNG")
    out.seek(0)
    return out


def make(**style) -> QRCode:
    code = QRCode(id="abcdefghjk", title="t")
    for name, value in style.items():
        setattr(code, name, value)
    return code


COLOURS = [
    ("#000000", "#ffffff"),
    ("#1a3d6e", "#fdf6e3"),
    ("#5a2d82", "#ffffff"),
    ("#595959", "#ffffff"),
]


@pytest.mark.parametrize(
    ("level", "size", "zone"),
    list(
        itertools.product(
            "LMQH", (MODULE_SIZES[0], 5, MODULE_SIZES[1]), (QUIET_ZONES[0], 4, QUIET_ZONES[1])
        )
    ),
)
def test_png_every_level_size_and_quiet_zone(level: str, size: int, zone: int) -> None:
    code = make(error_level=level, module_size=size, quiet_zone=zone)
    assert decode(images.code_png(code)) == [images.scan_url(code, printed=True)]


@pytest.mark.parametrize(("fg", "bg"), COLOURS)
@pytest.mark.parametrize("frame", ["", "IF FOUND, SCAN ME"])
def test_png_colours_and_frame(fg: str, bg: str, frame: str) -> None:
    assert contrast(fg, bg) >= 4.5
    code = make(fg_color=fg, bg_color=bg, frame_text=frame, module_size=6)
    png = images.code_png(code)
    assert decode(png) == [images.scan_url(code, printed=True)]
    with Image.open(io.BytesIO(png)) as picture:
        assert picture.getpixel((1, 1)) == tuple(int(bg[i : i + 2], 16) for i in (1, 3, 5))
        if frame:
            assert picture.height > picture.width


@pytest.mark.parametrize("size", [MODULE_SIZES[0] + 1, 6, 20])
@pytest.mark.parametrize("frame", ["", "IF FOUND, SCAN ME"])
def test_png_with_logo(manager, size: int, frame: str) -> None:
    code = services.code_create(
        actor=manager,
        title="Logo",
        target_url="https://a.example/",
        module_size=size,
        error_level="L",
        frame_text=frame,
        logo=logo_png(),
    )
    assert code.error_level == "H"  # forced by the logo
    assert code.logo
    png = images.code_png(code)
    assert decode(png) == [images.scan_url(code, printed=True)]
    with Image.open(io.BytesIO(png)) as picture:
        centre = picture.getpixel((picture.width // 2, picture.width // 2))
    assert centre == (220, 30, 30)  # the logo is really there


@pytest.mark.parametrize(
    ("fg", "bg", "field"),
    [
        ("#777777", "#ffffff", "fg_color"),
        ("#ffffff", "#000000", "fg_color"),
        ("#000000", "#000000", "fg_color"),
        ("red", "#ffffff", "fg_color"),
        ("#000000", "#fff00", "bg_color"),
    ],
)
def test_low_contrast_and_bad_colours_refused(fg: str, bg: str, field: str) -> None:
    with pytest.raises(Invalid) as refused:
        style_clean(
            fg_color=fg,
            bg_color=bg,
            module_size=10,
            quiet_zone=4,
            error_level="M",
            frame_text="",
            has_logo=False,
        )
    assert field in refused.value.fields


def test_low_contrast_message_is_clear(manager) -> None:
    with pytest.raises(Invalid, match=r"contrast 4\.\d:1, at least 4\.5:1"):
        services.code_create(
            actor=manager, title="x", target_url="https://a.example/", fg_color="#777777"
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("module_size", 1),
        ("module_size", 41),
        ("quiet_zone", 1),
        ("quiet_zone", 11),
        ("error_level", "X"),
        ("frame_text", "a\nb"),
        ("frame_text", "x" * 41),
    ],
)
def test_style_bounds(manager, field: str, value) -> None:
    with pytest.raises(Invalid) as refused:
        services.code_create(
            actor=manager, title="x", target_url="https://a.example/", **{field: value}
        )
    assert field in refused.value.fields


def test_pdf_is_a_print_sheet(code) -> None:
    from pypdf import PdfReader

    pdf = images.code_pdf(code)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert code.title in text and f"/r/{code.id}" in text
    pictures = reader.pages[0].images
    assert len(pictures) == 1
    assert decode(pictures[0].data) == [images.scan_url(code, printed=True)]
