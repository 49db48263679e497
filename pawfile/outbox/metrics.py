"""``pawfile_outbox_messages{status,kind}`` on ``/metrics``, counted when scraped.

Registered on the operations registry from ``OutboxConfig.ready`` (``ops`` knows nothing of
the outbox). Every status of every registered kind is present, zero included, so an alert
on ``pawfile_outbox_messages{status="failed"} > 0`` has a series to watch from the start.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.handlers import handler_kinds

log = logging.getLogger(__name__)

NAME = "pawfile_outbox_messages"
HELP = "Outbox messages by status and kind (failed ones wait for an operator)."


class OutboxCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without this, registering would call collect() and query the database at start-up.
        yield GaugeMetricFamily(NAME, HELP, labels=["status", "kind"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from pawfile.outbox.selectors import outbox_counts

        family = GaugeMetricFamily(NAME, HELP, labels=["status", "kind"])
        try:
            counts = outbox_counts()
        except Exception:
            # A failing query must not hide every other metric; the series are absent instead.
            log.warning("outbox: counting messages for /metrics failed", exc_info=True)
            yield family
            return
        for kind in handler_kinds():
            for status in MessageStatus.values:
                counts.setdefault((status, kind), 0)
        for (status, kind), n in sorted(counts.items()):
            family.add_metric([status, kind], n)
        yield family


_registered = False


def collector_register() -> None:
    """Add the collector to the ``/metrics`` registry (once per process)."""
    global _registered
    if _registered:
        return
    from pawfile.ops.metrics import REGISTRY

    REGISTRY.register(OutboxCollector())
    _registered = True
