"""How a reminder's repetition and lead time read on a page ("Every 2 weeks on Mon, Thu")."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from pawfile.lib.dates import date_text
from pawfile.reminders.choices import LEAD_CHOICES, Weekday
from pawfile.reminders.recurrence import rule_describe_parts

_UNITS = {
    "HOURLY": lambda n: ngettext("Every hour", "Every %(n)d hours", n) % {"n": n},
    "DAILY": lambda n: ngettext("Every day", "Every %(n)d days", n) % {"n": n},
    "WEEKLY": lambda n: ngettext("Every week", "Every %(n)d weeks", n) % {"n": n},
    "MONTHLY": lambda n: ngettext("Every month", "Every %(n)d months", n) % {"n": n},
    "YEARLY": lambda n: ngettext("Every year", "Every %(n)d years", n) % {"n": n},
}
_PLACES = {
    "1": gettext_lazy("first"),
    "2": gettext_lazy("second"),
    "3": gettext_lazy("third"),
    "4": gettext_lazy("fourth"),
    "-1": gettext_lazy("last"),
}


def rule_text(rule: str) -> str:
    """The repetition of ``rule`` in words, in the active language."""
    parts = rule_describe_parts(rule)
    freq = parts.get("FREQ")
    if not freq or freq not in _UNITS:
        return _("Once")
    try:
        interval = int(parts.get("INTERVAL", "1"))
    except ValueError:
        interval = 1
    text = str(_UNITS[freq](interval))
    byday = [d for d in parts.get("BYDAY", "").split(",") if d]
    names = dict(Weekday.choices)
    if freq == "WEEKLY" and byday:
        text += " · " + ", ".join(str(names.get(d, d)) for d in byday)
    elif freq == "MONTHLY" and byday:
        day = byday[0]
        place, weekday = day[:-2], day[-2:]
        text += " · " + _("the %(place)s %(weekday)s") % {
            "place": _PLACES.get(place, place),
            "weekday": names.get(weekday, weekday),
        }
    if parts.get("BYHOUR"):
        hours = ", ".join(f"{int(h):02d}:00" for h in parts["BYHOUR"].split(",") if h.isdigit())
        text += " · " + hours
    if parts.get("UNTIL"):
        until = parts["UNTIL"]
        last = dt.date(int(until[:4]), int(until[4:6]), int(until[6:8]))
        text += " · " + _("until %(date)s") % {"date": date_text(last)}
    if parts.get("COUNT"):
        count = int(parts["COUNT"])
        text += " · " + ngettext("%(n)d time", "%(n)d times", count) % {"n": count}
    return text


def lead_text(minutes: int) -> str:
    """``minutes`` ahead in words ("1 day before")."""
    for value, label in LEAD_CHOICES:
        if value == minutes:
            return str(label)
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return ngettext("%(n)d day before", "%(n)d days before", days) % {"n": days}
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)d hour before", "%(n)d hours before", hours) % {"n": hours}
    return ngettext("%(n)d minute before", "%(n)d minutes before", minutes) % {"n": minutes}
