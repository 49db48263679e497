"""The generation counter: how every process learns that a code changed.

``generation_bump`` runs inside the transaction of every change to a code: it adds one to
the ``RedirectGeneration`` row (the database is the source of truth) and, once the
transaction commits, wakes this process's redirect table at once and, in scale-out, adds one
to a Redis counter. ``generation_shared`` / ``generation_db`` are what each process's
refresher polls (at most every ``POLL_SECONDS``): the Redis counter when ``REDIS_URL`` is
set (one GET, nothing on the database; the row too, every few seconds, in case a bump was
lost), else the row (embedded mode: the poll also catches an edit from ``pawfile`` commands
or another process).
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from pawfile.qr.models import RedirectGeneration

log = logging.getLogger(__name__)

CACHE_KEY = "qr:generation"
POLL_SECONDS = 0.5
changed_here = threading.Event()  # set after a change committed in this process


def _shared_bump() -> None:
    changed_here.set()
    if not settings.REDIS_URL:
        return
    try:
        cache.add(CACHE_KEY, 0, timeout=None)
        cache.incr(CACHE_KEY)
    except Exception:  # Redis away: other nodes see the change when it is back, by the row
        log.warning("qr generation: Redis bump failed", exc_info=True)


def generation_bump() -> None:
    """Count one change of the codes (call inside the writing transaction)."""
    updated = RedirectGeneration.objects.filter(pk=1).update(value=F("value") + 1)
    if not updated:
        RedirectGeneration.objects.get_or_create(pk=1, defaults={"value": 1})
    transaction.on_commit(_shared_bump)


def generation_shared() -> object:
    """The Redis counter (scale-out); ``None`` when unset or Redis does not answer."""
    try:
        return cache.get(CACHE_KEY)
    except Exception:
        log.warning("qr generation: Redis read failed", exc_info=True)
        return None


def generation_db() -> int | None:
    """The counter row (the source of truth; ``None`` before the first change)."""
    return RedirectGeneration.objects.filter(pk=1).values_list("value", flat=True).first()
