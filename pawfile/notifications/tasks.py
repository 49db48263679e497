"""Background tasks of the notifications app. Thin: they call a service."""

from __future__ import annotations

from pawfile.lib.tasks import crontab, periodic_task
from pawfile.notifications import services


@periodic_task(crontab())
def notification_deliveries_release() -> int:
    """Every minute: send what quiet hours and the daily digest held, merged per recipient."""
    return services.deliveries_release()


@periodic_task(crontab(minute="17", hour="3"))
def notification_devices_prune() -> int:
    """Daily: remove push devices not seen for ``PAWFILE_DEVICE_INACTIVE_DAYS``."""
    from pawfile.notifications import devices

    return devices.devices_inactive_remove()


@periodic_task(crontab(minute="23", hour="3"))
def notification_webhook_receipts_purge() -> int:
    """Daily: forget inbound WhatsApp message ids older than ``phone.RECEIPT_DAYS`` (Meta
    retries a webhook for at most 7 days)."""
    from pawfile.notifications import phone

    return phone.receipts_purge()
