"""Helpers for the pet browser flow: signing in, a two-colour photo, dragging the crop box.

Everything here acts through the page as a person would (labels, buttons, the mouse); the
only reads behind the page's back are of what it already shows (image pixels, field values).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.conftest import PASSWORD

LOG_IN = re.compile(r"^\s*(sign in|log in)\s*$", re.I)
RED = (220, 30, 30)
BLUE = (30, 60, 220)


def press(page: Page, field: Locator, button: str | re.Pattern[str]) -> None:
    """Click ``button`` in the form that holds ``field`` (the page has other forms too)."""
    page.locator("form").filter(has=field).get_by_role("button", name=button).click()


def log_in(page: Page, email: str) -> None:
    """Sign in with the email and password form and land on the home page."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").first.fill(email)
    password = page.get_by_label("Password").first
    password.fill(PASSWORD)
    press(page, password, LOG_IN)
    expect(page).to_have_url(re.compile(r"/home/$"))


def two_tone_jpeg(path: Path, width: int = 800, height: int = 600) -> Path:
    """A JPEG whose left half is red and right half blue, so a crop shows where it was."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    image.save(path, "JPEG", quality=92)
    return path


def drag(page: Page, handle: Locator, dx: float, dy: float) -> None:
    """Press the mouse on the middle of ``handle``, move by (dx, dy) in steps, release."""
    box = handle.bounding_box()
    assert box is not None, "the handle to drag is not on screen"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=12)
    page.mouse.up()


def crop_fields(page: Page) -> tuple[int, int, int]:
    """The square the cropper reports in the form (left, top, size in source pixels)."""
    form = page.locator("form[data-photo-upload]")
    values = [
        form.locator(f"input[name={name}]").input_value()
        for name in ("crop_left", "crop_top", "crop_size")
    ]
    assert all(values), f"the cropper filled no crop box: {values}"
    left, top, size = (int(v) for v in values)
    return left, top, size


def move_crop_to_right_half(
    page: Page, width: int = 800, height: int = 600
) -> tuple[int, int, int]:
    """Shrink the crop square from its bottom-right corner, then push it to the right edge.

    Returns the box the form will send. Works in screen pixels measured from the picture as
    shown, so it does not depend on how large the page draws the cropper.
    """
    canvas = page.locator(".cropper-canvas")
    expect(canvas).to_be_visible()
    # The whole picture in the middle of the screen, so every handle is within mouse reach
    # (a corner handle sticks out of the picture by a few pixels).
    page.locator(".cropper-container").evaluate("el => el.scrollIntoView({block: 'center'})")
    shown = canvas.bounding_box()
    assert shown is not None
    scale = shown["width"] / width  # screen pixels per source pixel
    # Default: the largest centred square (height × height). Make it ~55 % of the height.
    shrink = height * 0.45 * scale
    drag(page, page.locator(".cropper-point.point-se"), -shrink, -shrink)
    # Then move it right and down, further than the picture goes: the cropper stops it at
    # the edges (viewMode 1), so it ends up in the bottom-right corner, inside the blue half.
    drag(page, page.locator(".cropper-face"), shown["width"], shown["height"])
    return crop_fields(page)


def colour_of(image_bytes: bytes) -> tuple[tuple[int, int], tuple[int, ...]]:
    """The size of an image and its average colour (R, G, B)."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        rgb = image.convert("RGB")
        size = rgb.size
        average = rgb.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert isinstance(average, tuple)
    return size, average


def image_loaded_size(image: Locator) -> tuple[int, int]:
    """Wait until ``image`` has decoded, then return its natural width and height."""
    image.scroll_into_view_if_needed()
    image.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    return int(width), int(height)
