"""Background tasks of the notifications app. Thin: they call a service."""

from __future__ import annotations

from pawfile.lib.tasks import crontab, periodic_task
from pawfile.notifications import services


@periodic_task(crontab())
def notification_deliveries_release() -> int:
    """Every minute: send what quiet hours and the daily digest held, merged per recipient."""
    return services.deliveries_release()
