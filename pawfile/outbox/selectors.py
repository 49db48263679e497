"""Reads of the outbox."""

from __future__ import annotations

from django.db.models import Count

from pawfile.outbox.models import OutboxMessage


def outbox_counts() -> dict[tuple[str, str], int]:
    """How many messages there are, by ``(status, kind)``; pairs with none are absent."""
    rows = OutboxMessage.objects.order_by().values_list("status", "kind").annotate(n=Count("pk"))
    return {(status, kind): n for status, kind, n in rows}
