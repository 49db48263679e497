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
write reads its households afresh. So do the values the shell's parts registered with SQL
(``registry.register_shell_state``: the bell's unread count), one column each, given to
them by ``shell_value`` on a GET or HEAD of the same user.

Decoding a session's data (``decode``: Django's signed, compressed JSON, its signature
checked) is done once per process for each text of it: the JSON of data whose signature
checked is kept by the signed text, the salt and the secret keys (``_verified``, emptied
when full), and each read gets a new dict from it, as Django's decode gives one. Data that
fails the check is never kept, and a changed secret key is another key.

``ENGINES`` names every engine that keeps sessions in the ``django_session`` table, ours and
Django's, for the code that reads that table itself.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest
from django.utils import timezone

from pawfile.lib import registry, sqlrows

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
def _read_sql(with_user: bool, shell: tuple[str, ...] = ()) -> str:
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
            + "".join(f", ({sql})" for sql in shell)
            + f", {c(Household, 'id', 'h')}, {c(Household, 'name', 'h')}"
            if with_user
            else ""
        )
        + f" FROM {sqlrows.table(Session)} s{joins}"
        f" WHERE {c(Session, 'session_key', 's')} = %s AND {c(Session, 'expire_date', 's')} > %s"
        + order
    )


def session_row(
    session_key: str | None, user_id: int | None = None
) -> tuple[Session | None, User | None, list[tuple[int, str]], dict[str, Any]]:
    """The unexpired row of ``session_key`` (only its data and expiry loaded), or ``None``;
    with ``user_id``, also the user of that id (``None`` if there is none, or no session),
    that user's households as ``(id, name)``, oldest membership first, and the values of
    the shell's SQL (``registry.shell_sql``) for that user by app, in the same statement
    (``{}`` when the user was not read)."""
    from django.contrib.sessions.models import Session

    from pawfile.accounts.models import Household, User

    if not session_key:
        return None, None, [], {}
    if not sqlrows.HAND_WRITTEN:  # the benchmark switch: the ORM's reads
        found = Session.objects.filter(
            session_key=session_key, expire_date__gt=timezone.now()
        ).first()
        user = User.objects.filter(pk=user_id).first() if found and user_id else None
        ordered = Household.objects.order_by("memberships__joined_at", "pk")
        pairs = ordered.filter(memberships__user=user).values_list("pk", "name")
        return found, user, list(pairs) if user else [], {}
    with_user = sqlrows.is_id(user_id)
    shell = registry.shell_sql() if with_user else ()
    connection = connections[DEFAULT_DB_ALIAS]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    # The shell's values (in the select list) take the user's id first, then the join.
    params: list[Any] = [user_id] * (len(shell) + 1) if with_user else []
    sql = _read_sql(with_user, tuple(part for _app, part in shell))
    rows = sqlrows.fetch(sql, [*params, session_key, now])
    if not rows:
        return None, None, [], {}
    row = rows[0]
    columns = sqlrows.columns(Session, "s", ("session_data", "expire_date"))
    data, expire_date = columns.convert(row[:2], connection)
    session = Session(session_key=session_key, session_data=data, expire_date=expire_date)
    user = None
    user_columns = sqlrows.columns(User, "u")
    households: list[tuple[int, str]] = []
    values: dict[str, Any] = {}
    if with_user and row[2 + user_columns.attnames.index(User._meta.pk.attname)] is not None:
        end = 2 + len(user_columns.attnames)
        found_user = user_columns.instance(row[2:end], connection)
        user = found_user if isinstance(found_user, User) else None
        values = {app: row[end + n] for n, (app, _sql) in enumerate(shell)}
        households = [(r[-2], r[-1]) for r in rows if r[-2] is not None]
    return session, user, households, values


def shell_value(request: HttpRequest, app: str) -> Any | None:
    """The value of ``app``'s shell SQL (``registry.register_shell_state``) for the signed-in
    user as this request's session read brought it, or ``None``: on a GET or HEAD only (a
    page drawn after a write reads afresh), and only when that read was of this very user."""
    if request.method not in ("GET", "HEAD"):
        return None
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is None or user is None or not user.is_authenticated:
        return None
    if (
        getattr(session, "hinted_for", None) != user.pk
        or getattr(session, "hinted_user", None) is None
    ):
        return None
    return (getattr(session, "hinted_shell", None) or {}).get(app)


# (signed data, salt, secret key, fallbacks) -> the JSON it holds; see the package docstring.
_verified: dict[tuple[Any, ...], bytes] = {}
VERIFIED_MAX = 10_000


class HintedRead:
    """The read of the two engines (a mixin over Django's ``db.SessionStore``)."""

    key_salt: str
    serializer: Any

    def decode(self, session_data: str) -> dict[str, Any]:
        """Django's ``decode``, the signature checked once per process for each text of
        ``session_data`` (see the package docstring); a new dict on every call."""
        key = (
            session_data,
            self.key_salt,
            settings.SECRET_KEY,
            tuple(settings.SECRET_KEY_FALLBACKS),
        )
        found = _verified.get(key)
        if found is not None:
            decoded: dict[str, Any] = self.serializer().loads(found)  # a new dict
            return decoded
        data: dict[str, Any] = super().decode(session_data)  # type: ignore[misc]
        if data:  # an empty answer may be a failed check: never kept
            if len(_verified) >= VERIFIED_MAX:
                _verified.clear()
            _verified[key] = self.serializer().dumps(data)
        return data

    user_hint: int | None = None  # set before the first read; see the package docstring
    hinted_for: int | None = None  # the user id the last read also read the user of
    hinted_user: User | None = None  # that user's row (``None``: there is no such user)
    hinted_households: list[tuple[int, str]] | None = None  # and their households
    hinted_shell: dict[str, Any] | None = None  # and the shell's values (``shell_value``)
    session_key: str | None

    def _get_session_from_db(self) -> Session | None:
        row, self.hinted_user, self.hinted_households, self.hinted_shell = session_row(
            self.session_key, self.user_hint
        )
        self.hinted_for = self.user_hint if row is not None else None
        if row is None:
            self._session_key = None  # as Django's: a missing or expired key is forgotten
        return row
