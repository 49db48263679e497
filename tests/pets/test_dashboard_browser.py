"""The pet page in a real browser, on a phone (390×844) and a desktop (1280×800), light and
dark: one column on the phone and two on the desktop, nothing wider than the screen, the
weight chart's labels at 12 px or more as drawn, and no console error (no CSP violation)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from pawfile.health import services as health_services
from pawfile.pets.models import Pet
from tests.conftest import Cast
from tests.e2e.conftest import browser, chromium_executable  # noqa: F401 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}

# Each visible chart label's size as drawn: its font size times the chart's scale.
LABEL_SIZES = """() => [...document.querySelectorAll('svg.weight-chart')]
  .filter(svg => svg.getBoundingClientRect().width > 0)
  .flatMap(svg => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return [...svg.querySelectorAll('.chart-label')].map(
      t => parseFloat(getComputedStyle(t).fontSize) * scale);
  })"""
CARD_LEFTS = """() => [...new Set([...document.querySelectorAll('.pet-dashboard article.card')]
  .filter(a => !a.classList.contains('pet-hero'))
  .map(a => Math.round(a.getBoundingClientRect().left)))]"""


def _fill(cast: Cast, pet: Pet) -> None:
    today = dt.date.today()
    health_services.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name="Rabies",
        date=today - dt.timedelta(400), next_due=today - dt.timedelta(3),
    )  # fmt: skip
    for days_ago, value in ((200, "11.8"), (120, "12.4"), (60, "12.1"), (2, "12.6")):
        health_services.weight_record(
            actor=cast.alice, pet=pet, value=value, unit="kg",
            date=today - dt.timedelta(days_ago),
        )  # fmt: skip


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
def test_pet_page_fits_the_screen(
    browser: Any,  # noqa: F811
    live_server: Any,
    cast: Cast,
    pet: Pet,
    size: str,
    scheme: str,
) -> None:
    _fill(cast, pet)
    client = Client()
    client.force_login(cast.alice)
    width, height = SIZES[size]
    context = browser.new_context(
        locale="en-US", base_url=live_server.url, color_scheme=scheme,
        viewport={"width": width, "height": height}, has_touch=size == "phone",
    )  # fmt: skip
    host = live_server.url.split("://", 1)[1].split(":", 1)[0]
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "domain": host, "path": "/"}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        for _visit in range(2):  # drawn, then from the cache
            page.goto(f"/pets/{pet.pk}/")
            assert page.locator("h1#pet-name").inner_text() == "Rex"
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            sizes = page.evaluate(LABEL_SIZES)
            assert sizes and min(sizes) >= 12, sizes
            assert page.get_by_text("Trend:").is_visible()
            lefts = page.evaluate(CARD_LEFTS)
            assert len(lefts) == (1 if size == "phone" else 2), lefts
            # What needs attention is the first thing under the header card.
            health = page.locator(".health-card").bounding_box()
            photos = page.locator(".pet-photos-card").bounding_box()
            assert health is not None and photos is not None and health["y"] < photos["y"]
    finally:
        context.close()
    assert errors == []
