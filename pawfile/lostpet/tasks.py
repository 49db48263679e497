"""Background tasks of the lost-pet app. Thin: they call a service."""

from __future__ import annotations

from pawfile.lib.tasks import crontab, periodic_task
from pawfile.lostpet import sightings


@periodic_task(crontab(minute="*/5"))
def sighting_summaries_send() -> int:
    """Every five minutes: one summary per pet for each ended hour whose reports went over
    the alert cap (``sightings.summaries_send``)."""
    return sightings.summaries_send()
