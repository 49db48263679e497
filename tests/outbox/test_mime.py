"""The text + HTML mail written out directly (``mail.alternative_bytes``) is, byte for byte,
the mail Django's ``EmailMultiAlternatives`` makes (but for the random boundary and the
Date), over subjects, bodies and headers that take each branch of the header folding and
of the part encodings; what it does not cover it says so (``None``)."""

from __future__ import annotations

import re

import pytest
from django.core.mail import BadHeaderError, EmailMultiAlternatives

from pawfile.outbox import mail

LONG_LINK = "https://pets.example.org/notifications/unsubscribe/" + "x" * 150
HEADERS = {
    "Message-ID": "<outbox.7.0123456789abcdef0123@example.org>",
    "List-Unsubscribe": f"<{LONG_LINK}>, <mailto:pawfile@example.org?subject=unsubscribe%20x>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    "Auto-Submitted": "auto-generated",
}
SUBJECTS = [
    "[Pawfile] Pill",
    "[Pawfile] Píldora para Rex",
    "[Pawfile] " + "A long reminder title that goes on and on " * 3,
    "[Pawfile] " + "Un recordatorio muy largo, con acentos: ñandú " * 3,
    "[Pawfile] two  spaces\tand a tab ",
    "[Pawfile] 🐶 emoji",
    "",
]
TEXTS = [
    "Pill\n\nhttps://pets.example.org/reminders/1/\n--\nYou get this because...\n",
    "Píldora\r\nmixed\rline\nends",
    "x" * 998 + "\nend",
    "ü" * 499,  # 998 bytes
    "From the start\n.dot line\n",
]


def _django_bytes(subject: str, text: str, html: str, to: str) -> bytes:
    email = EmailMultiAlternatives(subject=subject, body=text, to=[to], headers=dict(HEADERS))
    email.attach_alternative(html, "text/html")
    return email.message().as_bytes(linesep="\r\n")


def _same(ours: bytes, theirs: bytes) -> tuple[bytes, bytes]:
    """Both with the boundary and the Date line made equal."""
    found = [re.search(rb'boundary="([^"]+)"', raw) for raw in (ours, theirs)]
    assert found[0] and found[1]
    date = re.compile(rb"^Date: [^\r]*\r\n", re.MULTILINE)
    theirs = theirs.replace(found[1].group(1), found[0].group(1))
    return date.sub(b"Date: -\r\n", ours), date.sub(b"Date: -\r\n", theirs)


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("text", TEXTS)
def test_the_bytes_are_djangos(subject: str, text: str) -> None:
    html = f"<p>\n{text}\n</p>"
    built = mail.alternative_bytes(
        subject=subject, text=text, html=html, to="owner+1@example.org", headers=HEADERS
    )
    assert built is not None
    sender, recipients, raw = built
    assert sender == "Pawfile <pawfile@localhost>" and recipients == ["owner+1@example.org"]
    ours, theirs = _same(raw, _django_bytes(subject, text, html, "owner+1@example.org"))
    assert ours == theirs
    assert b"\nDate: " in raw and b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw


def test_what_it_does_not_cover_is_left_to_django() -> None:
    too_long = "x" * 999  # quoted-printable in Django's message
    assert (
        mail.alternative_bytes(subject="s", text="", html="h", to="a@example.org", headers=HEADERS)
        is None
    )  # Django leaves the part out
    assert mail.alternative_bytes(subject="s", text=too_long, html="h", to="a@example.org",
                                  headers=HEADERS) is None  # fmt: skip
    assert mail.alternative_bytes(subject="s", text="t", html="h", to="José <j@example.org>",
                                  headers=HEADERS) is None  # fmt: skip
    assert mail.alternative_bytes(subject="s", text="t", html="h", to="j@exámple.org",
                                  headers=HEADERS) is None  # fmt: skip


def test_a_line_break_in_a_header_is_refused_as_django_refuses_it() -> None:
    with pytest.raises(BadHeaderError):
        mail.alternative_bytes(subject="a\nBcc: x@example.org", text="t", html="h",
                               to="a@example.org", headers=HEADERS)  # fmt: skip
    with pytest.raises(BadHeaderError):
        _django_bytes("a\nBcc: x@example.org", "t", "h", "a@example.org")


def test_a_long_ascii_header_folds_as_the_generator_folds_it() -> None:
    """``mail._header`` folds a long printable-ASCII header from a fold computed once per
    shape (``_folded_ascii``): the bytes are the ``compat32`` generator's own, over random
    words, runs of spaces and tabs, and words ending in the characters it prefers to break
    after, and over the one-click unsubscribe header of real tokens."""
    import random

    rng = random.Random(12)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEF0123456789<>@:/?=%.;,-_"
    for _ in range(3000):
        words = [
            "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 3, 8, 20, 40, 75, 90])))
            for _ in range(rng.randint(1, 8))
        ]
        value = (
            "".join(
                word + rng.choice([" ", "  ", "\t", " \t", ", ", "; "]) for word in words
            ).rstrip(" \t")
            or "x"
        )
        if rng.random() < 0.2:
            value = " " + value
        name = rng.choice(["List-Unsubscribe", "X-Long-Header", "References"])
        expected = mail._FOLD.fold_binary(name, value)
        assert mail._header(name, value) == expected, (name, value)
    for user_id in (1, 42, 123456):
        token = f"eyJ1Ijo{user_id}IiwiayI6InJlbWluZGVyIn0:{'Ab3_-' * 8}"
        value = (
            f"<https://pets.example.org/notifications/unsubscribe/{token}/>, "
            f"<mailto:pawfile@example.org?subject=unsubscribe%20{token}>"
        )
        assert mail._header("List-Unsubscribe", value) == mail._FOLD.fold_binary(
            "List-Unsubscribe", value
        )
