"""A new owner's first visit, in a real browser: sign up, verify, two-factor, Spanish."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.conftest import PASSWORD
from tests.e2e.totp import totp
from tests.smtp import MailServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EMAIL = "dana@example.org"
SIGN_IN = re.compile(r"^\s*(sign in|log in)\s*$", re.I)
SIGN_UP = re.compile(r"^\s*sign up\s*$", re.I)
SIGN_OUT = re.compile(r"^\s*(sign out|log out)\s*$", re.I)
ACTIVATE = re.compile(r"^\s*activate\s*$", re.I)
CONFIRM_ACCESS = re.compile(r"confirm access", re.I)
LANGUAGE = re.compile(r"^\s*(language|idioma)\s*$", re.I)


def fresh_code(secret: str, *, not_in_step: int | None = None) -> tuple[str, int]:
    """A code with a few seconds of life left, from a later step than ``not_in_step``.

    allauth accepts a code only in its own 30-second step and never the same one twice.
    """
    while True:
        now = time.time()
        step, left = int(now // 30), 30 - now % 30
        if step != not_in_step and left > 3:
            return totp(secret, now), step
        time.sleep(left + 0.1)


def action(page: Page, name: re.Pattern[str]) -> Locator:
    """A control with that name, whether drawn as a button or as a link."""
    return page.get_by_role("button", name=name).or_(page.get_by_role("link", name=name))


def press(page: Page, field: Locator, button: re.Pattern[str]) -> None:
    """Click ``button`` in the form that holds ``field`` (the page has other forms too)."""
    page.locator("form").filter(has=field).get_by_role("button", name=button).click()


def fill_credentials(page: Page) -> Locator:
    page.get_by_label("Email").first.fill(EMAIL)
    password = page.get_by_label("Password").first
    password.fill(PASSWORD)
    return password


def sign_up(page: Page) -> None:
    page.goto("/accounts/signup/")
    press(page, fill_credentials(page), SIGN_UP)
    expect(page.get_by_role("heading", name=re.compile(r"verify your email", re.I))).to_be_visible()


def confirm_email(page: Page, smtp_server: MailServer, base_url: str) -> None:
    message = smtp_server.wait_for(to=EMAIL, subject_contains="Confirm")
    link = next(url for url in smtp_server.links(message) if "/confirm-email/" in url)
    assert link.startswith(base_url + "/"), link
    page.goto(link)
    expect(page.get_by_text(EMAIL).first).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^\s*confirm\s*$", re.I)).click()


def activate_totp(page: Page) -> tuple[str, int]:
    """Turn on the authenticator app; returns the secret and the step of the code used."""
    page.goto("/accounts/2fa/")
    expect(
        page.get_by_role("heading", name=re.compile(r"two-factor authentication", re.I)).first
    ).to_be_visible()
    action(page, ACTIVATE).first.click()
    secret_field = page.get_by_label("Authenticator secret")
    password = page.get_by_label("Password")
    expect(secret_field.or_(password)).to_be_visible()
    if password.is_visible():
        # Signing in from the emailed link is not a password: the app asks for it once.
        expect(page.get_by_role("heading", name=CONFIRM_ACCESS)).to_be_visible()
        password.fill(PASSWORD)
        press(page, password, re.compile(r"^\s*confirm\s*$", re.I))
    secret = secret_field.input_value().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), f"not a base32 secret: {secret!r}"
    code, step = fresh_code(secret)
    field = page.get_by_label("Authenticator code")
    field.fill(code)
    press(page, field, ACTIVATE)
    return secret, step


def open_menu_holding(page: Page, control: Locator) -> None:
    """Open the disclosure menu that holds ``control`` (if it is tucked away in one)."""
    if not control.is_visible():
        page.get_by_role("group").filter(has=control).last.click()
    expect(control).to_be_visible()


def sign_out(page: Page) -> None:
    button = page.get_by_role("button", name=SIGN_OUT, include_hidden=True).first
    open_menu_holding(page, button)
    button.click()
    link = action(page, SIGN_IN).first
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_label("Password")).to_be_visible()


def sign_in_with_code(page: Page, secret: str, used_step: int) -> None:
    press(page, fill_credentials(page), SIGN_IN)
    expect(
        page.get_by_role("heading", name=re.compile(r"two-factor authentication", re.I))
    ).to_be_visible()
    code, _step = fresh_code(secret, not_in_step=used_step)
    field = page.get_by_role("textbox", name=re.compile(r"code", re.I))
    field.fill(code)
    press(page, field, SIGN_IN)


def switch_to_spanish(page: Page) -> None:
    """Use the language control in the page, as a person would."""
    switcher = page.get_by_label(LANGUAGE)
    try:  # the page may still be loading after the last step's click
        switcher.first.wait_for(state="attached")
    except PlaywrightTimeoutError:
        pytest.fail(
            "no language control labelled 'Language'/'Idioma' in the page: expected a form "
            "posting language=es to the language switch (/language/)"
        )
    switcher = switcher.first
    open_menu_holding(page, switcher)
    if switcher.evaluate("element => element.tagName") == "SELECT":
        switcher.select_option("es")
        page.locator("form").filter(has=switcher).get_by_role("button").first.click()
    else:
        switcher.get_by_role("button", name=re.compile(r"^\s*español\s*$", re.I)).click()
    expect(page.locator("html")).to_have_attribute("lang", "es")


def test_new_owner_signs_up_verifies_enables_two_factor_and_reads_spanish(
    page: Page, site_url: str, smtp_server: MailServer, tmp_path: Path
) -> None:
    sign_up(page)

    confirm_email(page, smtp_server, site_url)
    expect(page).to_have_url(re.compile(r"/home/$"))
    expect(page.get_by_text("dana's household").first).to_be_visible()

    secret, used_step = activate_totp(page)
    expect(page.get_by_role("heading", name=re.compile(r"recovery codes", re.I))).to_be_visible()
    codes = page.get_by_label("Unused codes").input_value().split()
    assert len(codes) >= 10 and all(re.fullmatch(r"\w{6,}", c) for c in codes), codes
    page.goto("/accounts/2fa/")
    expect(page.get_by_text(re.compile(r"authenticator app is active", re.I)).first).to_be_visible()

    sign_out(page)
    sign_in_with_code(page, secret, used_step)
    expect(page).to_have_url(re.compile(r"/home/$"))
    expect(page.get_by_text("dana's household").first).to_be_visible()

    switch_to_spanish(page)
    expect(page.get_by_role("link", name=re.compile(r"^\s*inicio\s*$", re.I))).to_be_visible()
    sign_out_es = page.get_by_role("button", name="Cerrar sesión", include_hidden=True).first
    open_menu_holding(page, sign_out_es)
    page.goto("/accounts/2fa/")
    expect(
        page.get_by_role("heading", name=re.compile(r"autenticación de doble factor", re.I)).first
    ).to_be_visible()

    page.screenshot(path=tmp_path / "account-flow.png", full_page=True)
