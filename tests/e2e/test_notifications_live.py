"""The bell updates live: a notification made for the signed-in user while her page is open
shows in the bell without a reload (the page polls every 1.5 s), then she marks it read."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from pawfile.notifications.choices import Kind
from pawfile.notifications.services import notification_send
from tests.conftest import Cast
from tests.e2e.pets_helpers import log_in


def test_a_new_notification_reaches_the_open_page_and_is_marked_read(
    page: Page, site_url: str, cast: Cast
) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    log_in(page, cast.alice.email)
    page.goto("/pets/")
    page.evaluate("window.notLoadedAgain = true")
    count = page.locator("[data-notification-count]")
    expect(count).to_be_hidden()
    # Wait for the first poll, so the next answer is a change, not the page's first look.
    page.wait_for_function(
        "performance.getEntriesByType('resource').some(e => e.name.includes('/notifications/live'))"
    )

    notification_send(
        recipient=cast.alice, kind=Kind.REMINDER, title="Rex: pill time",
        body="Give Rex his pill.", link="/pets/", event_key="reminder:e2e",
    )  # fmt: skip

    expect(count).to_have_text("1")
    expect(page.locator("[data-notification-toast]")).to_contain_text("Rex: pill time")
    assert page.evaluate("window.notLoadedAgain") is True  # no reload

    page.locator("[data-notification-bell]").click()
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    page.get_by_role("button", name="Mark as read").click()
    expect(page.get_by_role("button", name="Mark as unread")).to_be_visible()
    expect(page.locator("[data-notification-count]")).to_be_hidden()
    assert problems == []
