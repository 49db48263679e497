"""The owner's own scans: a scan by the code's own people is not written as a scan.

The redirect layer runs before Django and knows no session; it only keeps the value of the
session cookie with the event (``ScanEvent.session``, "" without one), which costs nothing
for a stranger (no cookie) and a cookie parse for a visitor who has one. The flush, off the
request path, resolves a batch's distinct session keys to users in one query
(``Session`` rows that have not expired, decoded by the configured engine's store), their
households in a second one, and leaves out every scan of a code by a member of the code's
household (any role) or by the user who owns a generic code. Only batches that hold a
session cookie pay those two queries.

A cookie that names no live session (made up, expired, signed out) is a stranger's scan.
Other session engines than ``db`` and ``cached_db`` (whose rows are the ``Session`` table)
are read key by key, at most ``MAX_SESSIONS`` per batch, so made-up cookies cannot make a
flush slow. The redirect itself is unchanged: the owner is sent on, and a scan limit counts
their scan until the next flush re-reads the stored counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone

from pawfile.accounts.models import Membership
from pawfile.accounts.sessions import ENGINES as SESSION_TABLE_ENGINES

SESSION_KEY_SHAPE = re.compile(r"^[a-z0-9]{32,40}$")  # what Django's session keys look like
SESSION_MAX = 64  # characters of the cookie kept with a scan
MAX_SESSIONS = 200  # per batch, for engines read key by key
TABLE_ENGINES = set(SESSION_TABLE_ENGINES)


def _user_id(data: dict[str, object]) -> int | None:
    value = data.get(SESSION_KEY)
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def session_users(keys: Iterable[str]) -> dict[str, int]:
    """``{session key: user id}`` of the keys that name a live, signed-in session."""
    wanted = sorted({key for key in keys if SESSION_KEY_SHAPE.match(key)})
    if not wanted:
        return {}
    store = import_module(settings.SESSION_ENGINE).SessionStore
    found: dict[str, int] = {}
    if settings.SESSION_ENGINE in TABLE_ENGINES:
        rows = Session.objects.filter(
            session_key__in=wanted, expire_date__gt=timezone.now()
        ).values_list("session_key", "session_data")
        decoded = ((key, store().decode(data)) for key, data in rows)
    else:
        decoded = ((key, store(session_key=key).load()) for key in wanted[:MAX_SESSIONS])
    for key, data in decoded:
        user_id = _user_id(data)
        if user_id is not None:
            found[key] = user_id
    return found


def households_of(user_ids: Iterable[int]) -> dict[int, set[int]]:
    """``{user id: ids of the households the user is a member of}`` in one query."""
    by_user: dict[int, set[int]] = {}
    rows = Membership.objects.filter(user_id__in=set(user_ids)).values_list(
        "user_id", "household_id"
    )
    for user_id, household_id in rows:
        by_user.setdefault(user_id, set()).add(household_id)
    return by_user


class OwnScans:
    """Who is behind the session cookies of one batch (two queries, none without cookies)."""

    def __init__(self, sessions: Iterable[str]) -> None:
        keys = {key for key in sessions if key}
        self.users = session_users(keys) if keys else {}
        self.households = households_of(self.users.values()) if self.users else {}

    def own(self, session: str, household_id: int | None, owner_user_id: int | None) -> bool:
        """Whether a scan with cookie ``session`` of a code of ``household_id`` (or owned
        by ``owner_user_id``) is its own people's."""
        user_id = self.users.get(session) if session else None
        if user_id is None:
            return False
        if owner_user_id is not None and owner_user_id == user_id:
            return True
        return household_id is not None and household_id in self.households.get(user_id, ())
