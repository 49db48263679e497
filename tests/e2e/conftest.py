"""Browser fixtures: the system's Chromium driven by Playwright against the live server.

The browser reaches only the live server: every other request is refused and reported.
Without Chromium the browser tests are skipped, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def chromium_executable() -> str:
    """The distribution's Chromium (Playwright's own browser download is not used)."""
    path = shutil.which("chromium")
    if path is None:
        reason = "the browser tests need Chromium: install the distribution's chromium package"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: a missing browser is a failure, not a skip)")
        pytest.skip(reason)
    return path


@pytest.fixture
def browser(chromium_executable: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless Chromium.

    Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM
    calls while a loop runs; the database is only touched synchronously here, so allow it.
    """
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def site_url(live_server: Any, settings: Any) -> str:
    """The live server is the instance: links in mail point at it, as they would in production."""
    url = str(live_server.url)
    configured = settings.PAWFILE_BASE_URL
    settings.HEADLESS_FRONTEND_URLS = {
        name: url + link.removeprefix(configured)
        for name, link in settings.HEADLESS_FRONTEND_URLS.items()
    }
    settings.PAWFILE_BASE_URL = url
    return url


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser tab (its own cookies) that may talk to the live server only."""
    context = browser.new_context(locale="en-US", base_url=live_server.url)
    context.set_default_timeout(10_000)
    from playwright.sync_api import expect

    # Assertions wait as long as actions: on a loaded machine (the suite runs twice, in
    # parallel workers) loading an image into the cropper has taken more than the default 5 s.
    expect.set_options(timeout=10_000)
    refused: list[str] = []

    def only_live_server(route: Any) -> None:
        if route.request.url.startswith(live_server.url + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_live_server)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()
    assert refused == [], f"the page tried to reach beyond the live server: {refused}"


@contextlib.contextmanager
def phone_contexts(browser: Any, base_url: str) -> Iterator[Callable[..., Any]]:
    """``phone(**options)``: a new phone-sized (390×844) browser context on ``base_url``, with
    20 s timeouts for actions and assertions. Every context made is closed on leaving, and
    Playwright's global assertion timeout is given back."""
    from playwright.sync_api import expect

    made: list[Any] = []

    def phone(**options: Any) -> Any:
        context = browser.new_context(base_url=base_url, viewport=PHONE, locale="en-US", **options)
        context.set_default_timeout(20_000)
        made.append(context)
        return context

    before = expect._timeout  # a global of Playwright's: the next test gets it back
    expect.set_options(timeout=20_000)
    try:
        yield phone
    finally:
        for context in made:
            context.close()
        expect.set_options(timeout=before)


@pytest.fixture
def phones(browser: Any, site_url: str) -> Iterator[Callable[..., Any]]:
    """``phones(**options)``: phone-sized browser contexts on the live server (see
    :func:`phone_contexts`)."""
    with phone_contexts(browser, site_url) as phone:
        yield phone
