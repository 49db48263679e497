"""Session engines: Django's database-backed sessions with hand-written reads.

``SESSION_ENGINE`` is ``pawfile.accounts.sessions.db`` (embedded mode) or
``pawfile.accounts.sessions.cached_db`` (scale-out: the cache first, the database when the
cache does not hold the session). They are Django's ``db`` and ``cached_db`` engines, same
table, same encoding, same writes (saving, rotating the key at login, flushing at logout,
expiry), whose read of a session row is a hand-written SELECT (``pawfile.lib.sqlrows``)
instead of a QuerySet built and compiled for it: the row of that key if it has not expired,
as ``Session.objects.get(session_key=..., expire_date__gt=now)`` reads it.

The signed-in user in the same statement: a session's user never changes (signing in
rotates the key or starts a new session), so once a process has seen which user a session
key signs in, ``SessionUserMiddleware`` (``accounts.middleware``) sets that id as the store's
``user_hint`` and the read also brings that user's row (``hinted_user``), with the session
row, in one statement, and from the database even in ``cached_db`` (its rows are the truth;
the cache only spares a query, and this read makes none more). The session's data still
decides: the hinted row is used only when the data names that very user, and every check of
``auth.get_user`` still runs (``accounts.middleware.session_user``).

The same statement brings that user's households as the page header lists them (id and
name, oldest membership first: ``accounts.selectors.NavHouseholds``), one row per household
(the session's columns repeated; none: one row with nulls), so a signed-in page reads the
session, its user and the header's households in one round trip. The header uses them on
GET and HEAD only (``accounts.context_processors.nav_households``): a page drawn after a
write reads its households afresh.

``ENGINES`` names every engine that keeps sessions in the ``django_session`` table, ours and
Django's, for the code that reads that table itself.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from pawfile.lib import sqlrows

if TYPE_CHECKING:
    from django.contrib.sessions.models import Session

    from pawfile.accounts.models import User

ENGINES = (
    "pawfile.accounts.sessions.db",
    "pawfile.accounts.sessions.cached_db",
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


@cache
def _read_sql(with_user: bool) -> str:
    from django.contrib.sessions.models import Session

    from pawfile.accounts.models import Household, Membership, User

    c = sqlrows.column
    joins = order = ""
    if with_user:
        joins = (
            f" LEFT JOIN {sqlrows.table(User)} u ON {c(User, 'id', 'u')} = %s"
            f" LEFT JOIN {sqlrows.table(Membership)} m"
            f" ON {c(Membership, 'user', 'm')} = {c(User, 'id', 'u')}"
            f" LEFT JOIN {sqlrows.table(Household)} h"
            f" ON {c(Household, 'id', 'h')} = {c(Membership, 'household', 'm')}"
        )
        order = f" ORDER BY {c(Membership, 'joined_at', 'm')}, {c(Household, 'id', 'h')}"
    return (  # names are quoted by the connection, values are parameters
        f"SELECT {c(Session, 'session_data', 's')}, {c(Session, 'expire_date', 's')}"  # noqa: S608
        + (
            f", {sqlrows.columns(User, 'u').sql}"
            f", {c(Household, 'id', 'h')}, {c(Household, 'name', 'h')}"
            if with_user
            else ""
        )
        + f" FROM {sqlrows.table(Session)} s{joins}"
        f" WHERE {c(Session, 'session_key', 's')} = %s AND {c(Session, 'expire_date', 's')} > %s"
        + order
    )


def session_row(
    session_key: str | None, user_id: int | None = None
) -> tuple[Session | None, User | None, list[tuple[int, str]]]:
    """The unexpired row of ``session_key`` (only its data and expiry loaded), or ``None``;
    with ``user_id``, also the user of that id (``None`` if there is none, or no session)
    and that user's households as ``(id, name)``, oldest membership first, in the same
    statement."""
    from django.contrib.sessions.models import Session

    from pawfile.accounts.models import Household, User

    if not session_key:
        return None, None, []
    if not sqlrows.HAND_WRITTEN:  # the benchmark switch: the ORM's reads
        found = Session.objects.filter(
            session_key=session_key, expire_date__gt=timezone.now()
        ).first()
        user = User.objects.filter(pk=user_id).first() if found and user_id else None
        ordered = Household.objects.order_by("memberships__joined_at", "pk")
        pairs = ordered.filter(memberships__user=user).values_list("pk", "name")
        return found, user, list(pairs) if user else []
    with_user = sqlrows.is_id(user_id)
    connection = connections[DEFAULT_DB_ALIAS]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params: list[Any] = [user_id] if with_user else []
    rows = sqlrows.fetch(_read_sql(with_user), [*params, session_key, now])
    if not rows:
        return None, None, []
    row = rows[0]
    columns = sqlrows.columns(Session, "s", ("session_data", "expire_date"))
    data, expire_date = columns.convert(row[:2], connection)
    session = Session(session_key=session_key, session_data=data, expire_date=expire_date)
    user = None
    user_columns = sqlrows.columns(User, "u")
    households: list[tuple[int, str]] = []
    if with_user and row[2 + user_columns.attnames.index(User._meta.pk.attname)] is not None:
        found_user = user_columns.instance(row[2:-2], connection)
        user = found_user if isinstance(found_user, User) else None
        households = [(r[-2], r[-1]) for r in rows if r[-2] is not None]
    return session, user, households


class HintedRead:
    """The read of the two engines (a mixin over Django's ``db.SessionStore``)."""

    user_hint: int | None = None  # set before the first read; see the package docstring
    hinted_for: int | None = None  # the user id the last read also read the user of
    hinted_user: User | None = None  # that user's row (``None``: there is no such user)
    hinted_households: list[tuple[int, str]] | None = None  # and their households
    session_key: str | None

    def _get_session_from_db(self) -> Session | None:
        row, self.hinted_user, self.hinted_households = session_row(
            self.session_key, self.user_hint
        )
        self.hinted_for = self.user_hint if row is not None else None
        if row is None:
            self._session_key = None  # as Django's: a missing or expired key is forgotten
        return row
