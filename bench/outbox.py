"""Outbox benchmark: how long a mail delivery takes, and how wide the duplicate window is.

    .venv/bin/python bench/outbox.py [--runs 300]

The duplicate window is the time from the SMTP server accepting a message (its answer to
the message data) to the outbox row being committed as ``sent``: a worker killed inside it
leaves a row that another worker sends again once the lease expires. Steps: migrate a fresh
data directory in a temporary folder (embedded mode: SQLite; with ``DATABASE_URL`` set, that
database, which must be a scratch one: it is migrated and filled); start an SMTP server on a
free 127.0.0.1 port; write ``--runs`` mails to the outbox and deliver each in this process
with ``services.outbox_deliver`` (claim, send, mark). Prints
``case | runs | median ms | p95 ms | p99 ms | max ms``.
"""

# ruff: noqa: E402 - the standard library is imported after the sys.path fix below

from __future__ import annotations

import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))

import argparse
import os
import shutil
import tempfile
import time
from typing import Any

from measure import timings_table  # bench/ is the script's folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="pawfile-bench-outbox-")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "pawfile.config.settings",
            "PAWFILE_DATA_DIR": data,
            "PAWFILE_TASKS_IMMEDIATE": "false",  # the delivery is timed here, not in a task
            "PAWFILE_LOG_LEVEL": "ERROR",
        }
    )
    from tests.smtp import MailServer

    accepted: list[float] = []

    class TimedServer(MailServer):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            reply = await super().handle_DATA(server, session, envelope)
            accepted.append(time.perf_counter())
            return reply

    mail = TimedServer()
    mail.start()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{mail.port}"
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from pawfile.outbox import services
        from pawfile.outbox.mail import mail_enqueue

        call_command("migrate", verbosity=0)
        window: list[float] = []
        delivery: list[float] = []
        for n in range(args.runs + 10):  # the first 10 warm up
            message = mail_enqueue(
                key=f"bench:{time.time_ns()}:{n}",
                to=["dana@example.org"],
                subject="Hi",
                body="x" * 2000,
            )
            start = time.perf_counter()
            assert services.outbox_deliver(message_id=message.pk) == "sent"
            end = time.perf_counter()
            if n >= 10:
                window.append(end - accepted[-1])
                delivery.append(end - start)
        print(f"# {connection.vendor}, {args.runs} mails to a local SMTP server")
        timings_table(
            {"accepted -> row committed (duplicate window)": window, "delivery": delivery}
        )
    finally:
        mail.stop()
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
