"""Passkeys in a real browser, with Chromium's virtual authenticator (WebAuthn over CDP):
a signed-in owner adds a passkey, signs out, and signs back in with the passkey alone.

The authenticator is real WebAuthn as far as the page and the server can tell: the browser
creates a key pair, signs allauth's challenge, and the server checks the signature.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, Cast
from tests.e2e.pets_helpers import log_in
from tests.e2e.test_account_flow import CONFIRM_ACCESS, press, sign_out

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def virtual_authenticator(page: Page) -> tuple[Any, str]:
    """A platform authenticator that holds discoverable keys and always verifies the user."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def test_owner_adds_a_passkey_and_signs_in_with_it(page: Page, site_url: str, cast: Cast) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    cdp, authenticator = virtual_authenticator(page)
    log_in(page, cast.alice.email)

    page.goto("/accounts/2fa/webauthn/add/")
    # Adding a key is a sensitive change: the password is asked again first.
    expect(page.get_by_role("heading", name=CONFIRM_ACCESS)).to_be_visible()
    password = page.get_by_label("Password")
    password.fill(PASSWORD)
    press(page, password, re.compile(r"^\s*confirm\s*$", re.I))
    page.get_by_label("Name").fill("Laptop")
    # Passwordless: the key alone signs in (a passkey), not only as a second factor.
    page.get_by_label("Passwordless").check()
    page.wait_for_load_state("load")  # allauth's script wires the button at load
    page.get_by_role("button", name=re.compile(r"^\s*add\s*$", re.I)).click()
    expect(page).not_to_have_url(re.compile(r"/webauthn/add/"))
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1
    assert credentials["credentials"][0]["isResidentCredential"] is True
    page.goto("/accounts/2fa/webauthn/")
    expect(page.get_by_text("Laptop")).to_be_visible()

    sign_out(page)
    page.wait_for_load_state("load")
    page.get_by_role("button", name=re.compile("passkey", re.I)).click()
    expect(page).to_have_url(re.compile(r"/home/$"))
    expect(page.get_by_text("Alice's household").first).to_be_visible()
    assert errors == []
