"""The reminder buttons of the WhatsApp channel ("Done", "Snooze 1 h"), registered with
``notifications.actions`` from ``RemindersConfig.ready``.

A button names the notification it came with; that notification's event key
(``reminder:<id>:<due>``, see ``firing.py``) names the reminder and the occurrence. The
person acting is the verified sender, and the reminder services check their access again
(a viewer, or someone no longer in the household, is refused), exactly as on the site.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pawfile.accounts.access import Action
from pawfile.lib.dates import date_text, user_zone_override
from pawfile.lib.errors import NotFound
from pawfile.notifications import actions
from pawfile.reminders import selectors, services
from pawfile.reminders.choices import OccurrenceStatus, SnoozeFor
from pawfile.reminders.firing import NOTIFICATION_KIND
from pawfile.reminders.models import Occurrence, Reminder

_KEY = re.compile(r"^reminder:(\d+):(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")


def _target(user: Any, notification: Any) -> tuple[Reminder, Occurrence | None]:
    """The reminder (checked for writing by ``user``) and the occurrence the notification
    was about; ``NotFound`` when the reminder is gone or not theirs."""
    match = _KEY.match(notification.event_key or "")
    if match is None:
        raise NotFound(_("This reminder no longer exists."))
    reminder = selectors.reminder_get(
        user=user, reminder_id=int(match.group(1)), action=Action.WRITE
    )
    due = dt.datetime.strptime(match.group(2), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return reminder, Occurrence.objects.filter(reminder=reminder, due_at=due).first()


def done(user: Any, notification: Any) -> str:
    """Mark the occurrence done (once: pressing again says it is already done)."""
    reminder, occurrence = _target(user, notification)
    if occurrence is not None and occurrence.status == OccurrenceStatus.DONE:
        return _("“%(title)s” was already marked done.") % {"title": reminder.title}
    services.reminder_done(actor=user, reminder=reminder)
    return _("Done: “%(title)s”. Thank you!") % {"title": reminder.title}


def snooze(user: Any, notification: Any) -> str:
    """Send the occurrence again in an hour."""
    reminder, occurrence = _target(user, notification)
    if occurrence is not None and occurrence.status == OccurrenceStatus.DONE:
        return _("“%(title)s” was already marked done.") % {"title": reminder.title}
    settled = services.reminder_snooze(actor=user, reminder=reminder, snooze_for=SnoozeFor.HOUR)
    with user_zone_override(user):
        when = date_text(settled.snoozed_until)
    return _("Snoozed: I will remind you of “%(title)s” again at %(when)s.") % {
        "title": reminder.title,
        "when": when,
    }


def register() -> None:
    actions.reply_action_register(
        "done", kind=NOTIFICATION_KIND, label=gettext_lazy("Done"), run=done
    )
    actions.reply_action_register(
        "snooze1h", kind=NOTIFICATION_KIND, label=gettext_lazy("Snooze 1 h"), run=snooze
    )
