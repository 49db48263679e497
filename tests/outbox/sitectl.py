"""Commands the process tests run against a site of their own, in a fresh Python process.

    python -m tests.outbox.sitectl enqueue KEY ADDRESS          -> {"id": ...}
    python -m tests.outbox.sitectl enqueue-many PREFIX COUNT    -> {"ids": [...]}
    python -m tests.outbox.sitectl show ID                      -> the row and its attempts
    python -m tests.outbox.sitectl attempts ID...               -> {"attempts": [...]}
    python -m tests.outbox.sitectl race START STEP ID...        -> what each delivery returned

The site is whatever the environment names (``DATABASE_URL``, ``REDIS_URL``,
``PAWFILE_DATA_DIR``), exactly as for ``pawfile worker``. ``race`` sleeps until the Unix time
``START`` and then delivers the n-th id at ``START + n * STEP``, so that two processes
started with the same arguments claim each message at the same moment.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def main(argv: list[str]) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pawfile.config.settings")
    import django

    django.setup()
    from django.db import transaction

    from pawfile.outbox import services
    from pawfile.outbox.mail import mail_enqueue
    from pawfile.outbox.models import OutboxMessage

    command, args = argv[0], argv[1:]
    if command == "enqueue":
        key, address = args
        with transaction.atomic():
            message = mail_enqueue(key=key, to=[address], subject=key, body=f"Body of {key}")
        return {"id": message.pk}
    if command == "enqueue-many":
        prefix, count = args[0], int(args[1])
        ids = []
        for n in range(count):
            with transaction.atomic():
                key = f"{prefix}-{n}"
                ids.append(
                    mail_enqueue(
                        key=key, to=[f"{key}@example.org"], subject=key, body=f"Body of {key}"
                    ).pk
                )
        return {"ids": ids}
    if command == "show":
        message = OutboxMessage.objects.get(pk=int(args[0]))
        return {
            "status": message.status,
            "attempts": message.attempts,
            "outcomes": [a.outcome for a in message.attempt_log.order_by("pk")],
        }
    if command == "attempts":
        ids = [int(a) for a in args]
        found = dict(OutboxMessage.objects.filter(pk__in=ids).values_list("pk", "attempts"))
        return {"attempts": [found.get(i) for i in ids]}
    if command == "race":
        start, step, ids = float(args[0]), float(args[1]), [int(a) for a in args[2:]]
        late = time.time() > start
        results = []
        for n, message_id in enumerate(ids):
            time.sleep(max(0.0, start + n * step - time.time()))
            results.append(services.outbox_deliver(message_id=message_id))
        return {"results": results, "late": late}
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
