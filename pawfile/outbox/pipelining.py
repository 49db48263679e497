"""One message over an open ``smtplib.SMTP`` connection in two round trips instead of four.

``smtplib``'s ``sendmail`` waits for the answer to each of ``MAIL FROM``, ``RCPT TO``,
``DATA`` and the content. When the server offers ``PIPELINING`` (RFC 2920; every mainstream
server does), :func:`pipelined_send` writes the first three in one go, reads their three
answers, then sends the content (a client must wait for ``354`` before it): two writes and
two waits per message. Without ``PIPELINING`` it is ``sendmail`` itself.

The outcome is ``sendmail``'s, exception for exception: ``SMTPSenderRefused``,
``SMTPRecipientsRefused`` (the one recipient), ``SMTPDataError`` (the ``DATA`` command or
the content refused), ``SMTPServerDisconnected`` (the connection lost; a ``421`` closes it,
as ``sendmail`` does). After a refusal the transaction is reset (``RSET``) so the
connection can carry the next message.
"""

from __future__ import annotations

import re
import smtplib
from contextlib import suppress

_LEADING_DOT = re.compile(rb"(?m)^\.")


def pipelined_send(client: smtplib.SMTP, sender: str, to: str, data: bytes) -> None:
    """Send ``data`` (the whole message, CRLF line ends) from the bare address ``sender`` to
    the bare address ``to`` (no display name, no angle brackets) over ``client``, which is
    open. Raises as ``smtplib.SMTP.sendmail`` does (see the module docstring)."""
    client.ehlo_or_helo_if_needed()  # Django's backend opens without it, as sendmail allows
    if not client.does_esmtp or not client.has_extn("pipelining"):
        client.sendmail(sender, [to], data)
        return
    size = f" SIZE={len(data)}" if client.has_extn("size") else ""
    client.send(f"MAIL FROM:<{sender}>{size}\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode("ascii"))
    # Every answer is read before anything is decided: the server answers all three.
    mail_code, mail_reply = client.getreply()
    rcpt_code, rcpt_reply = client.getreply()
    data_code, data_reply = client.getreply()
    if data_code == 354 and (mail_code != 250 or rcpt_code not in (250, 251)):
        # A server that took DATA with no valid sender or recipient: end it empty.
        client.send(b".\r\n")
        client.getreply()
    if mail_code != 250:
        _refused(client, mail_code)
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, sender)
    if rcpt_code not in (250, 251):
        _refused(client, rcpt_code)
        raise smtplib.SMTPRecipientsRefused({to: (rcpt_code, rcpt_reply)})
    if data_code != 354:
        _refused(client, data_code)
        raise smtplib.SMTPDataError(data_code, data_reply)
    content = _LEADING_DOT.sub(b"..", data)
    if not content.endswith(b"\r\n"):
        content += b"\r\n"
    client.send(content + b".\r\n")
    code, reply = client.getreply()
    if code != 250:
        _refused(client, code)
        raise smtplib.SMTPDataError(code, reply)


def _refused(client: smtplib.SMTP, code: int) -> None:
    """What ``sendmail`` does after a refusal: close on ``421``, else ``RSET``."""
    if code == 421:
        client.close()
        return
    with suppress(smtplib.SMTPServerDisconnected):
        client.rset()
