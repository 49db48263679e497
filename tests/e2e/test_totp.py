"""The test's own authenticator agrees with RFC 6238's reference values."""

from __future__ import annotations

import base64

import pytest

from tests.e2e.totp import totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_totp_matches_the_rfc_6238_sha1_vectors(at: int, code: str) -> None:
    assert totp(RFC_SECRET, at, digits=8) == code


def test_totp_gives_six_digits_that_change_with_the_30_second_step() -> None:
    first, same, nxt = totp(RFC_SECRET, 60), totp(RFC_SECRET, 89), totp(RFC_SECRET, 90)
    assert len(first) == 6 and first.isdigit()
    assert first == same
    assert first != nxt
