"""/metrics counts outbox messages by status and kind when it is scraped."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def outbox_counts(text: str) -> dict[tuple[str, str], float]:
    return {
        (s.labels["status"], s.labels["kind"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "pawfile_outbox_messages"
    }


def test_metrics_count_messages_by_status(client) -> None:
    counts = outbox_counts(client.get("/metrics").content.decode())
    assert counts[("failed", "email")] == 0  # present before anything failed
    assert counts[("pending", "email")] == 0

    for n, status in enumerate(["failed", "failed", "pending", "sent", "sending"]):
        OutboxMessage.objects.create(key=f"m:{n}", kind="email", status=MessageStatus(status))
    OutboxMessage.objects.create(key="m:x", kind="push", status=MessageStatus.FAILED)

    counts = outbox_counts(client.get("/metrics").content.decode())
    assert counts[("failed", "email")] == 2
    assert counts[("pending", "email")] == 1
    assert counts[("sent", "email")] == 1
    assert counts[("sending", "email")] == 1
    assert counts[("failed", "push")] == 1
