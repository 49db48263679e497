"""The pet page's CSRF token (``pawfile.lib.csrf``): Django's format and distribution, made
with one read of the random source; forms posted with it are accepted, forged ones refused."""

from __future__ import annotations

import re
import secrets
from collections import Counter

import pytest
from django.middleware import csrf as django_csrf
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.test import Client, RequestFactory

from pawfile.lib import csrf
from tests.pets.conftest import World

# What the middleware checks a posted token with.
_unmask_cipher_token = django_csrf._unmask_cipher_token  # type: ignore[attr-defined]
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _secret() -> str:
    return "".join(secrets.choice(CSRF_ALLOWED_CHARS) for _ in range(CSRF_SECRET_LENGTH))


def test_a_token_unmasks_to_its_secret_as_django_reads_it() -> None:
    for _ in range(300):
        secret = _secret()
        token = csrf.mask_secret(secret)
        assert len(token) == 2 * CSRF_SECRET_LENGTH
        assert set(token) <= set(CSRF_ALLOWED_CHARS)
        assert _unmask_cipher_token(token) == secret
    assert len({csrf.mask_secret(secret) for _ in range(50)}) == 50  # a new mask each time


def test_every_mask_character_is_reached_by_as_many_bytes() -> None:
    """The mask's bytes are all below the limit, and below it each of the 62 characters is
    the image of exactly 4 byte values: uniform, as ``secrets.choice`` is."""
    table = csrf._TO_CHAR
    counts = Counter(table[b] for b in range(csrf._LIMIT))
    assert len(counts) == len(CSRF_ALLOWED_CHARS) and set(counts.values()) == {4}
    for _ in range(300):
        drawn = csrf._mask_bytes()
        assert len(drawn) == CSRF_SECRET_LENGTH and max(drawn) < csrf._LIMIT


def test_bytes_above_the_limit_are_dropped_not_folded(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter([bytes([255] * 30 + [0] * 10), bytes([248] * 8 + list(range(32)))])
    monkeypatch.setattr(csrf.secrets, "token_bytes", lambda n: next(draws))
    assert csrf._mask_bytes() == bytes([0] * 10 + list(range(22)))


def test_without_a_secret_yet_django_makes_one() -> None:
    request = RequestFactory().get("/")
    token = csrf.get_token(request)
    secret = request.META["CSRF_COOKIE"]
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert _unmask_cipher_token(token) == secret
    again = csrf.get_token(request)  # the secret is there now: the cheap mask
    assert again != token and _unmask_cipher_token(again) == secret


def test_the_page_token_is_accepted_and_forged_ones_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.cast.alice)
    page = f"/pets/{world.pet.pk}/"
    assert client.get(page).status_code == 200  # sets the CSRF cookie
    masked: list[str] = []
    original = csrf.mask_secret

    def mask_secret(secret: str) -> str:
        masked.append(secret)
        return original(secret)

    monkeypatch.setattr(csrf, "mask_secret", mask_secret)
    html = client.get(page).content.decode()
    tokens = set(TOKEN.findall(html))
    assert len(tokens) == 1 and masked  # one token for the page, masked here
    (token,) = tokens
    assert _unmask_cipher_token(token) == client.cookies["csrftoken"].value
    pin = f"/notes/{world.note.pk}/pin/"
    forged = [
        csrf.mask_secret(_secret()),  # well formed, another secret
        token[:-1] + ("a" if token[-1] != "a" else "b"),  # one character changed
        token[:-1] + "-",  # a character outside the alphabet
        token[:32],  # too short
        "",
    ]
    for bad in forged:
        assert client.post(pin, {"csrfmiddlewaretoken": bad}).status_code == 403
    assert client.post(pin, {"csrfmiddlewaretoken": token}).status_code == 302
