"""A person's own calendar: the zone they live in and which day it is for them.

Instants are stored in UTC. What day it is — and so whether a vaccine is due, whether a date
lies in the future, what "today" means on a page or in a report — is decided in the zone of
the person it is for (``User.timezone``, an IANA name such as ``Pacific/Kiritimati``).

* ``user_today(user)`` is that person's date now: computed once by the caller (a view, an API
  handler, the PDF report) and passed down as ``today=`` to what decides due status, so no
  function deep inside asks the clock or the active zone on its own.
* ``zone_activate(user)`` makes the user's zone the active one for the rest of a request, so
  ``timezone.localdate()``, templates' ``|date`` and form defaults follow it (called by
  ``accounts.middleware.UserPreferencesMiddleware`` for web pages and by the API's auth
  classes; ``zone_deactivate`` ends it when the request ends).
* ``user_zone_override(user)`` does the same for a block, for tasks that act for a user.

A stored name that is not a zone (or none at all) counts as the site's zone rather than
breaking a page.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from contextlib import AbstractContextManager
from functools import lru_cache

from django.utils import timezone


@lru_cache(maxsize=1024)
def _zone(name: str) -> dt.tzinfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone_for(name: str) -> dt.tzinfo:
    """The zone named ``name``; the site's default zone when ``name`` is blank or unknown."""
    return (_zone(name) if name else None) or timezone.get_default_timezone()


def user_zone(user: object) -> dt.tzinfo:
    """The zone ``user`` lives in: their ``timezone`` attribute (a ``User``), the site's
    zone for anything without one (an anonymous visitor)."""
    return zone_for(getattr(user, "timezone", "") or "")


def user_today(user: object, *, now: dt.datetime | None = None) -> dt.date:
    """The date it is for ``user`` at ``now`` (default: this instant), in their own zone."""
    return timezone.localdate(now, timezone=user_zone(user))


def zone_activate(user: object) -> None:
    """Make ``user``'s zone the active one in this thread until ``zone_deactivate``."""
    timezone.activate(user_zone(user))


def zone_deactivate() -> None:
    """Back to the site's zone (the end of a request: no zone leaks to the next one)."""
    timezone.deactivate()


def user_zone_override(user: object) -> AbstractContextManager[None]:
    """``with user_zone_override(user):`` — ``user``'s zone inside the block, the previous
    one after it (for tasks that act for a user)."""
    return timezone.override(user_zone(user))


def date_text(value: dt.date | dt.datetime | None, *, language: str | None = None) -> str:
    """``value`` as people read it in ``language`` (default: the active one): the one date
    format of that language (``DATE_FORMAT``; ``DATETIME_FORMAT`` for an instant, shown in
    the active zone), chosen in ``pawfile.formats``. ``""`` for ``None``. Python display code
    (reports, charts, facts) calls this instead of spelling a format."""
    from django.utils import formats, translation

    if value is None:
        return ""
    name = "DATETIME_FORMAT" if isinstance(value, dt.datetime) else "DATE_FORMAT"
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    if language is None:
        return str(formats.date_format(value, name))
    with translation.override(language):
        return str(formats.date_format(value, name))
