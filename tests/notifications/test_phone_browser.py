"""The phone page in Chromium (phone size): enter a number, the code arrives at the local
WhatsApp fake, type it, the number shows as verified; then turn it off and on."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from pawfile.notifications.models import PhoneChannel
from tests.conftest import Cast
from tests.e2e.pets_helpers import log_in
from tests.notifications.phonefakes import GraphFake


def test_verify_a_whatsapp_number_in_the_browser(
    page: Page, site_url: str, cast: Cast, graph: GraphFake, settings: Any
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, cast.alice.email)
    page.goto("/notifications/settings/")
    page.get_by_role("button", name="Manage phone numbers").click()
    expect(page).to_have_url(re.compile(r"/notifications/phone/$"))
    card = page.locator("#phone-whatsapp")
    card.get_by_label("Your mobile number, with its country code").fill("600 11 12 22")
    card.get_by_role("button", name="Send me a code").click()
    expect(card.get_by_role("alert")).to_contain_text("country code")  # no + prefix: refused

    card = page.locator("#phone-whatsapp")
    card.get_by_label("Your mobile number, with its country code").fill("+34 600 11 12 22")
    card.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_text("We sent a code. Type it below.")).to_be_visible()
    [message] = graph.wait_for(1)
    code = re.search(r"\b(\d{6})\b", message.json["text"]["body"]).group(1)  # type: ignore[union-attr]

    card = page.locator("#phone-whatsapp")
    card.get_by_label(re.compile("The 6-digit code sent to")).fill(code)
    card.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("Your number is verified.")).to_be_visible()
    card = page.locator("#phone-whatsapp")
    expect(card).to_contain_text("+34 600 11 12 22")
    expect(card.get_by_text("On", exact=True)).to_be_visible()
    row = PhoneChannel.objects.get(user=cast.alice)
    assert row.verified_at is not None and row.opted_in

    card.get_by_role("button", name="Turn off").click()
    expect(page.locator("#phone-whatsapp").get_by_text("Off", exact=True)).to_be_visible()
    row.refresh_from_db()
    assert not row.opted_in
