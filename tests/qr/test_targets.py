"""The open-redirect corpus: hostile targets are refused at creation and never reach a
``Location`` header; good ones come out as plain ASCII."""

from __future__ import annotations

import pytest

from pawfile.lib.errors import Invalid
from pawfile.qr import services
from pawfile.qr.targets import target_url_clean

HOSTILE = [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "%2F%2Fevil.example",
    "https:evil.example",
    "https:/evil.example",
    "http:\\\\evil.example",
    "https://evil.example\\@good.example",
    "https://user:pass@evil.example/",
    "https://good.example@evil.example/",
    "https://good.example%40evil.example/",
    "https://good.example/\r\nSet-Cookie: a=b",
    "https://good.example/%0d%0a\r\n",
    "https://good.example/\nx",
    "https://good.example/\x00",
    "https://good.example/a b",
    "https://good.example/\u2028",
    "https://раypal.example/",  # Cyrillic р and а mixed with Latin
    "https://xn--ypal-43d9g.example/",  # the same host in punycode
    "https://аррӏе.com/",  # whole-script Cyrillic look-alike of apple
    "https://xn--80ak6aa92e.com/",  # the same, punycode
    "https://good.example:99999/",
    "https://good.example:abc/",
    "https:///path",
    "ftp://good.example/",
    "mailto:a@b.example",
    "https://" + "a" * 2000 + ".example/",
    "https://good.example/" + "a" * 2100,
    "",
    "   ",
    "https://exa mple.com/",
    "https://ex%41mple.com/",
    "https://-bad.example/",
]

GOOD = [
    ("https://shelter.example/adopt?x=1#top", "https://shelter.example/adopt?x=1#top"),
    ("HTTPS://Shelter.Example", "https://shelter.example/"),
    ("http://localhost:8080/a", "http://localhost:8080/a"),
    ("https://münchen.example/straße", "https://xn--mnchen-3ya.example/stra%C3%9Fe"),
    ("https://пример.example/", "https://xn--e1afmkfd.example/"),
    ("https://[2001:db8::1]/x", "https://[2001:db8::1]/x"),
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_target_refused(value: str) -> None:
    with pytest.raises(Invalid) as refused:
        target_url_clean(value)
    assert refused.value.fields == {"target_url": [refused.value.message]}
    assert refused.value.message


@pytest.mark.parametrize(("value", "clean"), GOOD)
def test_good_target_normalised(value: str, clean: str) -> None:
    assert target_url_clean(value) == clean
    assert clean.isascii()


def test_allowlist(settings) -> None:
    settings.PAWFILE_QR_ALLOWED_DOMAINS = ["shelter.example"]
    assert target_url_clean("https://www.shelter.example/x")
    assert target_url_clean("https://shelter.example/x")
    for bad in (
        "https://evil.example/",
        "https://shelter.example.evil.example/",
        "https://notshelter.example/",
    ):
        with pytest.raises(Invalid, match="only lead to"):
            target_url_clean(bad)


@pytest.mark.parametrize("value", HOSTILE[:20])
def test_hostile_target_never_stored_nor_redirected(value, manager, code, wsgi) -> None:
    with pytest.raises(Invalid):
        services.code_create(actor=manager, title="x", target_url=value)
    with pytest.raises(Invalid):
        services.code_update(actor=manager, code_id=code.id, target_url=value)
    answer = wsgi(f"/r/{code.id}")
    assert answer.status == 302
    assert answer.headers["Location"] == "https://shelter.example/adopt?x=1"
