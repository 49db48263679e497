"""``/api/docs`` in a real browser: Swagger UI reads the document and shows no error.

Swagger UI parses ``openapi.json`` with a YAML parser that refuses duplicate keys and lists
what it refuses in its errors box ("Parser error: duplicated mapping key"); a script that
fails shows in the console.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_the_document_without_errors(page: Page, live_server: Any) -> None:
    console_errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Pawfile API")
    # Every operation is drawn; the two downloads that had "200" twice among them.
    expect(page.locator(".opblock")).to_have_count(_operation_count(page))
    for summary in ("Download a photo variant", "Download a file", "Your pets"):
        expect(page.locator(".opblock-summary", has_text=summary).first).to_be_visible()
    # Open the photo download: its responses (the part that was duplicated) render.
    page.locator(".opblock-summary", has_text="Download a photo variant").first.click()
    expect(page.locator(".responses-table").first).to_be_visible()
    expect(page.locator(".errors-wrapper")).to_have_count(0)
    assert console_errors == []


def _operation_count(page: Page) -> int:
    document = page.request.get("/api/v1/openapi.json").json()
    return sum(len(operations) for operations in document["paths"].values())
