"""A new owner's first visit, in a real browser: sign up, verify, two-factor, Spanish."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.totp import totp
from tests.smtp import MailServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EMAIL = "dana@example.org"
SIGN_IN = re.compile(r"^\s*(sign in|log in)\s*$", re.I)
SIGN_OUT = re.compile(r"^\s*(sign out|log out)\s*$", re.I)
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


def sign_up(page: Page) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Email", exact=False).first.fill(EMAIL)
    page.get_by_label("Password", exact=False).first.fill(PASSWORD)
    page.get_by_role("button", name=re.compile(r"sign up", re.I)).click()
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
    page.get_by_role("link", name=re.compile(r"^\s*activate\s*$", re.I)).first.click()
    secret = page.get_by_label("Authenticator secret").input_value().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), f"not a base32 secret: {secret!r}"
    code, step = fresh_code(secret)
    page.get_by_label("Authenticator code").fill(code)
    page.get_by_role("button", name=re.compile(r"^\s*activate\s*$", re.I)).click()
    return secret, step


def sign_out(page: Page) -> None:
    page.goto("/accounts/logout/")
    page.get_by_role("button", name=SIGN_OUT).click()
    page.goto("/accounts/login/")
    expect(page.get_by_role("button", name=SIGN_IN)).to_be_visible()


def sign_in_with_code(page: Page, secret: str, used_step: int) -> None:
    page.get_by_label("Email", exact=False).first.fill(EMAIL)
    page.get_by_label("Password", exact=False).first.fill(PASSWORD)
    page.get_by_role("button", name=SIGN_IN).click()
    expect(
        page.get_by_role("heading", name=re.compile(r"two-factor authentication", re.I))
    ).to_be_visible()
    code, _step = fresh_code(secret, not_in_step=used_step)
    page.get_by_role("textbox", name=re.compile(r"code", re.I)).fill(code)
    page.get_by_role("button", name=SIGN_IN).click()


def switch_to_spanish(page: Page) -> None:
    """Use the language control in the page, as a person would."""
    control = page.get_by_label(LANGUAGE)
    if control.count() == 0:
        pytest.fail(
            "no language control labelled 'Language'/'Idioma' on the home page: expected a "
            "form posting language=es to the language switch (/language/)"
        )
    control = control.first
    tag = control.evaluate("element => element.tagName.toLowerCase()")
    if tag == "select":
        control.select_option("es")
        form = page.locator("form").filter(has=control)
        submit = form.get_by_role("button")
        if submit.count() and submit.first.is_visible():
            submit.first.click()
    else:
        control.get_by_role("button", name=re.compile(r"espa[ñn]ol|spanish", re.I)).click()
    page.wait_for_load_state()


def test_new_owner_signs_up_verifies_enables_two_factor_and_reads_spanish(
    page: Page, live_server: Any, smtp_server: MailServer, tmp_path: Path
) -> None:
    sign_up(page)

    confirm_email(page, smtp_server, live_server.url)
    expect(page).to_have_url(re.compile(r"/home/$"))
    expect(page.get_by_text("dana's household").first).to_be_visible()

    secret, used_step = activate_totp(page)
    expect(page.get_by_role("heading", name=re.compile(r"recovery codes", re.I))).to_be_visible()
    codes = page.get_by_label("Unused codes").input_value().split()
    assert len(codes) >= 10 and all(re.fullmatch(r"\w{6,}", c) for c in codes), codes
    page.goto("/accounts/2fa/")
    expect(
        page.get_by_text(re.compile(r"authenticator app is active", re.I)).first
    ).to_be_visible()

    sign_out(page)
    sign_in_with_code(page, secret, used_step)
    expect(page).to_have_url(re.compile(r"/home/$"))
    expect(page.get_by_text("dana's household").first).to_be_visible()

    switch_to_spanish(page)
    expect(page.get_by_text(re.compile(r"cerrar sesión", re.I)).first).to_be_visible()
    page.goto("/accounts/2fa/")
    expect(
        page.get_by_role("heading", name=re.compile(r"autenticación de doble factor", re.I)).first
    ).to_be_visible()

    page.screenshot(path=tmp_path / "account-flow.png", full_page=True)
