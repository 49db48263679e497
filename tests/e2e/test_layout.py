"""Every page at phone (390×844) and desktop (1280×800) size, light and dark: nothing scrolls
sideways, every menu opens inside the screen, nothing is logged to the console (a CSP
violation included), no visible text is smaller than 12 px, and on the phone every button,
input and select is at least 44 px tall.

One browser; per size and theme one signed-out and one signed-in context over the demo
household (``tests/screens/demo.py``, the same data ``make screenshots`` shows). The theme is
the device's (``prefers-color-scheme``), which the user's default "follow the device" obeys.
Every problem is collected and reported at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from pawfile.accounts.models import User
from tests.screens.demo import (
    MEMBER_EMAIL,
    OWNER_EMAIL,
    PASSWORD,
    Screen,
    demo_household_create,
    demo_pages,
)
from tests.screens.shoot import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
# (size, scheme, browser language, only these pages or all): every page in English at both
# sizes, light and dark; Spanish, whose words are longer, on a phone for the header and the
# pages where labels are longest.
PASSES = [(size, scheme, "en-US", ()) for size in SIZES for scheme in ("light", "dark")] + [
    ("phone", "light", "es-ES", ("landing", "login", "signup", "home", "household", "pet"))
]
# The header's menus are the same on every page: opened on these (signed out, signed in).
MENU_PAGES = {"landing", "home"}

# Runs in the page; returns what a person would notice, one line each.
PAGE_PROBLEMS = """(phone) => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    const wide = [...document.querySelectorAll("body *")].filter((el) => {
      const r = el.getBoundingClientRect();
      const boxed = el.closest(".table-scroll, .visually-hidden");
      return r.width > 0 && r.right > window.innerWidth + 1 && !boxed;
    }).slice(0, 3).map((el) => el.tagName.toLowerCase() + "." + [...el.classList].join("."));
    const sizes = `${root.scrollWidth} px > ${window.innerWidth} px`;
    problems.push(`scrolls sideways: ${sizes} (${wide.join(", ")})`);
  }
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && style.visibility !== "hidden" && style.opacity !== "0";
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || seen.has(el) || !walker.currentNode.textContent.trim()) continue;
    seen.add(el);
    if (!shown(el) || el.closest("script, style, noscript, template")) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement && el.getScreenCTM()) {
      const m = el.getScreenCTM();
      size *= Math.hypot(m.a, m.b);
    }
    if (size < 11.95) {
      const text = walker.currentNode.textContent.trim().slice(0, 30);
      problems.push(`text of ${size.toFixed(1)} px: <${el.tagName.toLowerCase()}> "${text}"`);
    }
  }
  const heads = [...document.querySelectorAll(
    ".site-header nav > ul > li > a, .site-header nav > ul > li > details > summary"
  )].filter(shown).map((el) => [el.textContent.trim() || el.getAttribute("aria-label"),
                                el.getBoundingClientRect()]);
  heads.forEach(([name, r], i) => {
    if (r.left < -1 || r.right > window.innerWidth + 1) {
      problems.push(`"${name}" is off the screen`);
    }
    for (const [other, q] of heads.slice(i + 1)) {
      const across = r.left < q.right - 1 && q.left < r.right - 1;
      if (across && r.top < q.bottom - 1 && q.top < r.bottom - 1) {
        problems.push(`"${name}" and "${other}" overlap in the header`);
      }
    }
  });
  if (phone) {
    const controls = document.querySelectorAll(
      "button, [role=button], select, textarea, " +
      "input:not([type=checkbox], [type=radio], [type=hidden], [type=file], [type=range])"
    );
    for (const el of controls) {
      if (!shown(el)) continue;
      const height = el.getBoundingClientRect().height;
      if (height < 43.5) {
        const name = (el.textContent || el.getAttribute("name") || "").trim().slice(0, 30);
        const tag = el.tagName.toLowerCase();
        problems.push(`${tag} "${name}" is ${height.toFixed(0)} px tall (< 44)`);
      }
    }
  }
  return problems;
}"""

# A person scrolls to see a menu that opens below the fold: scroll as little as needed, then
# the whole menu must be on the screen.
MENU_OUTSIDE = """(menu) => {
  const list = menu.querySelector(":scope > summary + ul");
  if (!list) return "no list";
  list.scrollIntoView({block: "nearest", inline: "nearest"});
  const r = list.getBoundingClientRect();
  const [w, h] = [window.innerWidth + 1, window.innerHeight + 1];  // rounding
  if (r.left < -1 || r.top < -1 || r.right > w || r.bottom > h)
    return [r.left, r.top, r.right, r.bottom].map(Math.round).join(", ");
  return "";
}"""


def _check_page(
    page: Page, screen: Screen, *, phone: bool, problems: list[str], label: str
) -> None:
    response = page.goto(screen.path)
    where = f"{label} {screen.name} ({screen.path})"
    if response is None or response.status != screen.status:
        problems.append(f"{where}: status {response and response.status}, not {screen.status}")
    problems.extend(f"{where}: {p}" for p in page.evaluate(PAGE_PROBLEMS, phone))
    menus = page.locator(
        "main details.dropdown" if screen.name not in MENU_PAGES else "details.dropdown"
    )
    for index in range(menus.count()):
        menu = menus.nth(index)
        if not menu.locator(":scope > summary").is_visible():
            continue
        menu.locator(":scope > summary").click()
        outside = menu.evaluate(MENU_OUTSIDE)
        if outside:
            name = menu.locator(":scope > summary").inner_text().strip()
            problems.append(f"{where}: menu {name!r} opens outside the screen: {outside}")
        menu.locator(":scope > summary").click()


def _context(browser: Browser, base_url: str, size: str, scheme: str, locale: str) -> Any:
    width, height = SIZES[size]
    context = browser.new_context(
        base_url=base_url, locale=locale, color_scheme=scheme,
        viewport={"width": width, "height": height}, has_touch=size == "phone",
    )  # fmt: skip
    context.set_default_timeout(15_000)
    return context


def _watch_console(
    page: Page, errors: list[str], label: str, expected_status: dict[str, int]
) -> None:
    def on_console(message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        # The browser logs the document's own 4xx; an error page is meant to answer that.
        if text.startswith("Failed to load resource") and any(
            message.location.get("url", "").endswith(path) for path in expected_status
        ):
            return
        errors.append(f"{label} {page.url}: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"{label} {page.url}: {exc}"))


def test_every_page_fits_phone_and_desktop_in_light_and_dark(
    browser: Browser, live_server: Any
) -> None:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    demo = demo_household_create(today=dt.date.today())
    TOTP.activate(User.objects.get(email=MEMBER_EMAIL), generate_totp_secret())
    screens = demo_pages(demo)
    erroring = {s.path: s.status for s in screens if s.status != 200}
    base_url = str(live_server.url)
    problems: list[str] = []

    for size, scheme, locale, only in PASSES:
        label = f"[{size} {scheme} {locale}]"
        phone = size == "phone"
        chosen = [screen for screen in screens if not only or screen.name in only]
        # Signed out: the public pages, then the second step of a two-factor login.
        context = _context(browser, base_url, size, scheme, locale)
        page = context.new_page()
        _watch_console(page, problems, label, erroring)
        for screen in chosen:
            if not screen.signed_in:
                _check_page(page, screen, phone=phone, problems=problems, label=label)
        log_in(page, MEMBER_EMAIL, PASSWORD)
        page.wait_for_url("**/2fa/authenticate/")
        _check_page(
            page, Screen("2fa-login", "/accounts/2fa/authenticate/", signed_in=False),
            phone=phone, problems=problems, label=label,
        )  # fmt: skip
        context.close()
        # Signed in as the owner: every other page.
        context = _context(browser, base_url, size, scheme, locale)
        page = context.new_page()
        _watch_console(page, problems, label, erroring)
        log_in(page, OWNER_EMAIL, PASSWORD)
        for screen in chosen:
            if screen.signed_in:
                _check_page(page, screen, phone=phone, problems=problems, label=label)
        context.close()

    assert problems == [], "\n" + "\n".join(problems)
