"""An SMTP server whose answers a test scripts: refusals, and a stall in the middle of a send.

``ScriptedMailServer`` is ``tests.smtp.MailServer`` (messages land in ``messages``) with
two queues of answers: ``rcpt_replies`` for RCPT TO and ``data_replies`` for the message
itself. Each SMTP command takes the next answer (``None`` or an empty queue: accept).
``stall_first_rcpt()`` makes the first RCPT TO hang until ``release()``; ``stalled`` is set
while it hangs, so a test knows a client is in the middle of sending. With ``pipelining``
set, it offers ``PIPELINING`` (aiosmtpd reads pipelined commands one after the other
anyway; it only does not say so).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from tests.smtp import MailServer


class ScriptedMailServer(MailServer):
    def __init__(self) -> None:
        super().__init__()
        self.rcpt_replies: list[str | None] = []
        self.data_replies: list[str | None] = []
        self.stalled = threading.Event()
        self._release = threading.Event()
        self._stall_next = False
        self.pipelining = False

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if not self.pipelining:
            return responses
        # aiosmtpd's list ends with "250 HELP": that line is then no longer the last one.
        return [*responses[:-1], "250-" + responses[-1][4:], "250 PIPELINING"]

    def stall_first_rcpt(self) -> None:
        self._stall_next = True

    def release(self) -> None:
        self._release.set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self._stall_next:
            self._stall_next = False
            self.stalled.set()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self._release.wait, 60)
            return "451 4.3.0 Gave up waiting"  # the client is gone by now
        reply = self.rcpt_replies.pop(0) if self.rcpt_replies else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self.data_replies.pop(0) if self.data_replies else None
        if reply:
            return reply
        return await super().handle_DATA(server, session, envelope)
