"""Email through the outbox: ``mail_enqueue`` writes the message, ``email_deliver`` sends it.

The mail is rendered by the caller (in the request's or the recipient's language) and
stored in the row; the task queue carries only the row's id. Once sent, a sensitive mail
(the default: reset and confirmation links, invitations, personal data) keeps only its
recipients, subject and sender.

SMTP answers decide what happens next: a 5xx refusal of every recipient or of the message
itself is permanent (``failed`` at once); anything else (server unreachable, 4xx "try
later", a rejected login, which is the operator's to fix) is retried with backoff.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
import smtplib
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from email.policy import compat32
from email.utils import formatdate, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, forbid_multi_line_headers

from pawfile.outbox.handlers import DeliveryError
from pawfile.outbox.models import OutboxMessage
from pawfile.outbox.pipelining import pipelined_send
from pawfile.outbox.services import outbox_enqueue

EMAIL = "email"
# What a sensitive mail keeps once it is sent.
KEEP_WHEN_SENT = ("to", "subject", "from_email")
# A row that stands for a mail deliberately not sent (see ``mail_withheld_enqueue``).
NO_MAIL = "no-mail"


def mail_enqueue(
    *,
    key: str,
    to: list[str],
    subject: str,
    body: str,
    html: str | None = None,
    from_email: str | None = None,
    sensitive: bool = True,
) -> OutboxMessage:
    """Queue one rendered email in the caller's transaction; it is sent after commit.

    Takes the idempotency ``key`` (see :func:`pawfile.outbox.services.outbox_enqueue`), the
    recipients, subject, plain-text ``body``, an optional ``html`` alternative and sender
    (default ``PAWFILE_FROM_EMAIL``). Returns the outbox row (the existing one when ``key``
    was used before). Raises ``ValueError`` when there is no recipient.
    """
    recipients = [str(address) for address in to if address]
    if not recipients:
        raise ValueError("an email needs at least one recipient")
    payload = {
        "to": recipients,
        "subject": str(subject),
        "body": str(body),
        "html": None if html is None else str(html),
        "from_email": from_email or None,
    }
    return outbox_enqueue(kind=EMAIL, key=key, payload=payload, sensitive=sensitive)


def mail_withheld_enqueue(*, key: str, subject: str, body: str) -> OutboxMessage:
    """Write a row that costs what a mail costs and sends nothing: kind ``NO_MAIL``, with a
    rendered ``subject`` and ``body`` of the usual size and no recipient, enqueued after
    commit like a mail; its handler (``no_mail_deliver``) marks it sent, and then the text
    is dropped.

    For answers that must not tell, even by their time, whether a mail went out: a password
    reset for an address with no account does this where a known one calls ``mail_enqueue``.
    Returns the row.
    """
    payload: dict[str, object] = {"to": [], "subject": str(subject), "body": str(body),
                                  "html": None, "from_email": None}  # fmt: skip
    return outbox_enqueue(kind=NO_MAIL, key=key, payload=payload, sensitive=True)


def no_mail_deliver(message: OutboxMessage) -> None:
    """The handler of ``NO_MAIL`` rows: there is nothing to send."""


_session = threading.local()


@contextmanager
def smtp_session() -> Iterator[None]:
    """Inside, mail sent in this thread through :func:`mail_connection` shares one connection
    to the mail server (opened on first use, closed at the end) instead of one connection
    per mail. After a failed send, call :func:`smtp_session_reset`: the next mail opens a
    fresh connection. Nested sessions are the outer one."""
    if getattr(_session, "active", False):
        yield
        return
    _session.active, _session.connection = True, None
    try:
        yield
    finally:
        smtp_session_reset()
        _session.active = False


def smtp_session_reset() -> None:
    """Close the session's connection, if any (the next mail opens another)."""
    connection = getattr(_session, "connection", None)
    _session.connection = None
    if connection is not None:
        with suppress(Exception):  # a connection already broken has nothing to close
            connection.close()


def mail_connection() -> Any:
    """The connection to pass as ``EmailMessage(connection=...)``: inside
    :func:`smtp_session`, the session's open connection; otherwise, or when it cannot be
    opened, ``None`` (Django then opens one for the mail, and reports the error there)."""
    if not getattr(_session, "active", False):
        return None
    if _session.connection is None:
        connection = get_connection()
        try:
            connection.open()
        except Exception:
            return None
        _session.connection = connection
    return _session.connection


def message_id(message: OutboxMessage) -> str:
    """A ``Message-ID`` that stays the same for every attempt at the same outbox row, so a
    mail client that gets the message twice (see the duplicate window) can show it once."""
    sender = str(message.payload.get("from_email") or settings.DEFAULT_FROM_EMAIL)
    domain = _bare(sender).rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(message.key.encode()).hexdigest()[:20]
    return f"<outbox.{message.pk}.{digest}@{domain}>"


def email_deliver(message: OutboxMessage) -> None:
    """Send the stored mail with Django's mail API; raises ``DeliveryError`` when refused."""
    payload = message.payload
    try:
        email = EmailMultiAlternatives(
            subject=payload["subject"],
            body=payload["body"],
            from_email=payload.get("from_email") or None,
            to=list(payload["to"]),
            headers={"Message-ID": message_id(message)},
            connection=mail_connection(),
        )
    except (KeyError, TypeError) as exc:
        raise DeliveryError(f"the stored mail is incomplete: {exc}", permanent=True) from None
    if payload.get("html"):
        email.attach_alternative(payload["html"], "text/html")
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _reply in exc.recipients.values()]
        raise DeliveryError(
            f"recipients refused: {_smtp_replies(exc.recipients)}",
            permanent=all(500 <= code < 600 for code in codes),
        ) from None
    except smtplib.SMTPDataError as exc:
        raise DeliveryError(
            f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}",
            permanent=500 <= exc.smtp_code < 600,
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"mail server said {exc.smtp_code} {_text(exc.smtp_error)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"mail server unreachable: {type(exc).__name__}: {exc}") from None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _smtp_replies(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr}: {code} {_text(reply)}" for addr, (code, reply) in recipients.items())


# --- A text + HTML mail, built and sent without Django's MIME objects ------------------------
#
# For the many mails of a batch (the email channel): the same bytes as
# ``EmailMultiAlternatives(...).message().as_bytes(linesep="\r\n")`` (but for the random
# boundary and the Date), written out directly; building them through the ``email``
# package's objects and generator was most of a mail's CPU in the worker.
# ``tests/outbox/test_mime.py`` compares the two byte for byte.

_FOLD = compat32.clone(linesep="\r\n")
_LINES = re.compile(r"\r\n|\r|\n")
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to"})
_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))


def _header(name: str, value: str) -> bytes:
    """One header line as Django's message and the ``compat32`` generator write it."""
    if (
        len(name) + len(value) <= 76
        and value.isascii()
        and "\n" not in value
        and "\r" not in value
        and name.lower() not in _ADDRESS_HEADERS
    ):
        return f"{name}: {value}\r\n".encode("ascii")
    lowered = name.lower()
    if lowered not in _ADDRESS_HEADERS and lowered != "subject" and _PRINTABLE.fullmatch(value):
        return _folded_ascii(name, value)
    name, value = forbid_multi_line_headers(name, value, "utf-8")  # BadHeaderError as Django
    return _FOLD.fold_binary(name, value)


# A long header of printable ASCII (``List-Unsubscribe``, with its per-mail token) is folded
# by the ``compat32`` generator at its runs of spaces and tabs, choosing where from the
# lengths of the words between them and whether a word ends in ``;`` or ``,`` only. So the
# fold is computed once per such shape, for stand-in words of the same lengths and last
# characters, and each mail's words are put back in place of the stand-ins (a fold per mail
# cost about 17 µs). ``tests/outbox/test_mime.py`` compares the two over random values.
_PRINTABLE = re.compile(r"[\t -~]+")
_FWS_RUN = re.compile(r"([ \t]+)")
_WORD = re.compile(r"[^ \t\r\n]+")


def _folded_ascii(name: str, value: str) -> bytes:
    """``_FOLD.fold_binary(name, value)`` for a value of printable ASCII (and tabs) of a
    header that Django passes through unchanged (not an address, not ``Subject``)."""
    pieces = _FWS_RUN.split(value)  # word, run, word, run, ..., word
    words = pieces[0::2]
    shape = "".join(piece if i % 2 else _stand_in(piece) for i, piece in enumerate(pieces))
    between = _fold_shape(name, shape)
    out = [between[0]]
    for word, literal in zip((w for w in words if w), between[1:], strict=True):
        out += (word, literal)
    return "".join(out).encode("ascii")


def _stand_in(word: str) -> str:
    if not word:
        return ""
    return "x" * (len(word) - 1) + (word[-1] if word[-1] in ";," else "x")


@functools.lru_cache(maxsize=256)
def _fold_shape(name: str, shape: str) -> list[str]:
    """The folded ``name: shape`` line cut around its words: the literal text before the
    first word, between each two, and after the last (the name is in the first)."""
    folded = _FOLD.fold_binary(name, shape).decode("ascii")
    prefix = f"{name}: "
    assert folded.startswith(prefix)
    rest = folded[len(prefix) :]
    between = _WORD.split(rest)
    between[0] = prefix + between[0]
    return between


@functools.lru_cache(maxsize=16)
def _sender(from_email: str) -> tuple[str, bytes]:
    """The envelope sender and the ``From`` line for ``from_email``."""
    from django.core.mail.message import sanitize_address

    return sanitize_address(from_email, "utf-8"), _header("From", from_email)


@functools.lru_cache(maxsize=16)
def _bare(address: str) -> str:
    """The address in ``address`` without its display name (``parseaddr``; ``""`` when
    there is none), kept: the senders of a process are few, the parse is not cheap."""
    return parseaddr(address)[1]


# Every boundary is as long as this one (the digits are zero-padded), so the folded
# ``Content-Type`` line is the same but for the digits: folded once, then the boundary put in.
_STAND_IN_BOUNDARY = b"=" * 15 + b"0" * _BOUNDARY_DIGITS + b"=="


@functools.lru_cache(maxsize=1)
def _content_type() -> bytes:
    boundary = _STAND_IN_BOUNDARY.decode("ascii")
    return _header("Content-Type", f'multipart/alternative; boundary="{boundary}"')


def _text_part(subtype: str, text: str) -> bytes | None:
    """One ``text/<subtype>`` part, or ``None`` when a line is too long for 8bit (Django
    then uses quoted-printable: left to its own code)."""
    data = "\r\n".join(_LINES.split(text)).encode("utf-8")
    if any(len(line) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in data.split(b"\r\n")):
        return None
    cte = b"7bit" if data.isascii() else b"8bit"
    return (
        b"Content-Type: text/" + subtype.encode("ascii") + b'; charset="utf-8"\r\n'
        b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: " + cte + b"\r\n\r\n" + data
    )


def alternative_bytes(
    *, subject: str, text: str, html: str, to: str, headers: Mapping[str, str],
    from_email: str | None = None,
) -> tuple[str, list[str], bytes] | None:  # fmt: skip
    """``(envelope sender, recipients, message bytes)`` of a ``multipart/alternative`` mail
    with a UTF-8 text and HTML part, to one address, with ``headers`` added after
    ``Message-ID``/``Date`` as Django adds them. ``None`` when this writer does not cover
    the mail (an address that is not plain ASCII, a line longer than 998 bytes, an empty
    ``text``): use Django's ``EmailMultiAlternatives``. Raises ``BadHeaderError`` for a
    header value with a line break, as Django does."""
    if not text or not _PLAIN_ADDRESS.fullmatch(to):
        return None  # (Django leaves an empty text part out)
    plain, rich = _text_part("plain", text), _text_part("html", html)
    if plain is None or rich is None:
        return None
    sender, from_line = _sender(from_email or settings.DEFAULT_FROM_EMAIL)
    boundary = ""
    while not boundary or boundary.encode() in plain or boundary.encode() in rich:
        boundary = f"==============={random.randrange(sys.maxsize):0{_BOUNDARY_DIGITS}d}=="
    lines = [
        _content_type().replace(_STAND_IN_BOUNDARY, boundary.encode("ascii")),
        b"MIME-Version: 1.0\r\n",
        _header("Subject", subject),
        from_line,
        f"To: {to}\r\n".encode("ascii") if len(to) <= 74 else _header("To", to),
    ]
    if not any(name.lower() == "date" for name in headers):
        lines.append(_header("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
    lines += [_header(name, value) for name, value in headers.items()
              if name.lower() not in _ADDRESS_HEADERS]  # fmt: skip
    mark = b"--" + boundary.encode("ascii")
    body = b"\r\n" + mark + b"\r\n" + plain + b"\r\n" + mark + b"\r\n" + rich
    return sender, [to], b"".join(lines) + body + b"\r\n" + mark + b"--\r\n"


def send_alternative(
    *, subject: str, text: str, html: str, to: str, headers: Mapping[str, str]
) -> None:
    """Send a text + HTML mail to ``to`` from ``DEFAULT_FROM_EMAIL``: inside
    :func:`smtp_session` with an SMTP backend, the bytes of :func:`alternative_bytes` over
    the session's connection; otherwise (or when that writer does not cover the mail) with
    Django's ``EmailMultiAlternatives``. Raises what ``smtplib`` raises (or ``OSError``).
    Over the session's connection the message goes with ``pipelining.pipelined_send``:
    two round trips instead of four when the server offers ``PIPELINING``."""
    connection = mail_connection()
    if isinstance(connection, SMTPBackend) and connection.connection is not None:
        built = alternative_bytes(subject=subject, text=text, html=html, to=to, headers=headers)
        if built is not None:
            sender, recipients, data = built
            pipelined_send(connection.connection, _bare(sender) or sender, recipients[0], data)
            return
    email = EmailMultiAlternatives(
        subject=subject, body=text, to=[to], headers=dict(headers), connection=connection
    )
    email.attach_alternative(html, "text/html")
    email.send()
