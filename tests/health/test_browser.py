"""The timeline in a real browser: the kind filter swaps the list over HTMX under the strict
CSP, the URL follows the filter, and the page raises no errors."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import expect

from pawfile.health import services
from tests.conftest import Cast
from tests.health.samples import days

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page: Any, live_server: Any, cast: Cast) -> None:
    """Carol (a viewer) in the browser, by the session cookie of a test client."""
    from django.conf import settings

    cookie = cast.client_for("carol").cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def _errors_of(page: Any) -> list[str]:
    """The page's script errors and console errors, collected from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    return errors


def test_kind_filter_swaps_the_list(page: Any, live_server: Any, cast: Cast, pet) -> None:
    for n, kg in ((-90, "11.2"), (-45, "11.8"), (-3, "12.1")):
        services.weight_record(actor=cast.alice, pet=pet, value=kg, unit="kg", date=days(n))
    services.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name="Rabies", date=days(-20),
        next_due=days(10),
    )  # fmt: skip
    services.record_create(actor=cast.alice, pet=pet, kind="visit", name="Limp", date=days(-5))
    errors = _errors_of(page)
    _log_in(page, live_server, cast)

    page.goto(f"/pets/{pet.pk}/timeline/")
    expect(page.locator(".timeline-title")).to_have_count(5)
    expect(page.locator("svg.weight-chart polyline:visible")).to_have_count(1)  # one drawing shows
    expect(page.get_by_role("button", name="Apply filter")).to_be_hidden()
    if os.environ.get("PAWFILE_SCREENSHOTS"):
        page.screenshot(path=os.environ["PAWFILE_SCREENSHOTS"] + "/timeline.png", full_page=True)

    page.get_by_label("Vaccination").check()
    expect(page.locator(".timeline-title")).to_have_count(1)
    expect(page.locator(".timeline-title")).to_have_text("Rabies")
    expect(page.locator(".due-badge")).to_contain_text("Due soon")
    assert "kind=vaccination" in page.url
    page.get_by_label("Vet visit").check()
    expect(page.locator(".timeline-title")).to_have_count(2)
    assert errors == []


def test_older_records_load_in_place(page: Any, live_server: Any, cast: Cast, pet) -> None:
    for n in range(60):
        services.record_create(
            actor=cast.alice, pet=pet, kind="visit", name=f"Visit {n:02d}", date=days(-n)
        )
    errors = _errors_of(page)
    _log_in(page, live_server, cast)

    page.goto(f"/pets/{pet.pk}/timeline/")
    expect(page.locator(".timeline-title")).to_have_count(50)
    address = page.url
    page.get_by_role("button", name="Older records").click()
    expect(page.locator(".timeline-title")).to_have_count(60)
    expect(page.locator(".timeline-title").last).to_have_text("Visit 59")
    expect(page.get_by_role("button", name="Older records")).to_have_count(0)
    assert page.url == address  # appended in place, not a new page
    assert errors == []
