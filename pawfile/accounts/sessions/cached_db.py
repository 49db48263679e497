"""Django's cached database session engine with the hand-written read (see the package):
with a user hint, the session and the user are read from the database in one statement
instead of the session from the cache and the user from the database."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import cached_db

from pawfile.accounts.sessions import HintedRead


class SessionStore(HintedRead, cached_db.SessionStore):  # type: ignore[misc]
    def load(self) -> dict[str, Any]:
        if self.user_hint is None:
            return super().load()
        row = self._get_session_from_db()
        return self.decode(row.session_data) if row is not None else {}
