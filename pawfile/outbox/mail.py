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

import hashlib
import smtplib
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from pawfile.outbox.handlers import DeliveryError
from pawfile.outbox.models import OutboxMessage
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
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
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
