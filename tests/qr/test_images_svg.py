"""SVG images rasterised by a real renderer (Chromium) and decoded (zxing-cpp): the exact URL."""

from __future__ import annotations

import base64
import io

import pytest
import zxingcpp
from PIL import Image

from pawfile.qr import images, services
from tests.e2e.conftest import browser, chromium_executable  # noqa: F401  (fixtures)
from tests.qr.test_images import COLOURS, logo_png, make

STYLES = [
    {"error_level": level, "module_size": size, "quiet_zone": zone}
    for level, size, zone in [("L", 2, 2), ("M", 5, 4), ("Q", 10, 10), ("H", 40, 2)]
] + [{"fg_color": fg, "bg_color": bg, "frame_text": "IF FOUND, SCAN ME"} for fg, bg in COLOURS]


def rasterise(browser, svg: bytes) -> list[str]:  # noqa: F811
    page = browser.new_page()
    try:
        data = base64.b64encode(svg).decode()
        page.set_content(
            f'<body style="margin:0"><img id="c" src="data:image/svg+xml;base64,{data}"></body>'
        )
        page.wait_for_function("document.getElementById('c').complete")
        shot = page.locator("#c").screenshot()
    finally:
        page.close()
    with Image.open(io.BytesIO(shot)) as picture:
        return [r.text for r in zxingcpp.read_barcodes(picture.convert("RGB"))]


@pytest.mark.parametrize("style", STYLES, ids=str)
def test_svg_decodes_to_the_url(browser, style) -> None:  # noqa: F811
    code = make(**style)
    assert rasterise(browser, images.code_svg(code)) == [images.scan_url(code, printed=True)]


def test_svg_with_logo(browser, manager) -> None:  # noqa: F811
    code = services.code_create(
        actor=manager, title="Logo", target_url="https://a.example/", module_size=6, logo=logo_png()
    )
    svg = images.code_svg(code)
    assert b"data:image/png;base64," in svg
    assert rasterise(browser, svg) == [images.scan_url(code, printed=True)]
