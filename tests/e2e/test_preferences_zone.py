"""The preferences page in a real browser: someone who never chose a time zone gets the
browser's own filled in, sees that it was, and keeps it by saving; a chosen zone is left
alone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from pawfile.accounts.models import User
from tests.conftest import Cast
from tests.e2e.pets_helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_browser_zone_is_offered_then_saved(browser: Any, live_server: Any, cast: Cast) -> None:
    context = browser.new_context(
        locale="en-US", timezone_id="America/Bogota", base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        log_in(page, "alice@example.org")
        page.goto("/preferences/")
        zone = page.get_by_label("Time zone")
        expect(zone).to_have_value("America/Bogota")
        expect(page.get_by_text("Filled in from your browser")).to_be_visible()
        page.get_by_role("button", name="Save preferences").click()
        expect(page).to_have_url(re.compile(r"/preferences/$"))
        assert User.objects.get(email="alice@example.org").timezone == "America/Bogota"
        # Chosen now: a visit from another zone leaves it as it is.
        zone_user = User.objects.get(email="alice@example.org")
        zone_user.timezone = "Asia/Tokyo"
        zone_user.save()
        page.goto("/preferences/")
        expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
        expect(page.get_by_text("Filled in from your browser")).to_be_hidden()
    finally:
        context.close()
    assert errors == []
