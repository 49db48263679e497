"""Django's database session engine with the hand-written read (see the package)."""

from __future__ import annotations

from django.contrib.sessions.backends import db

from pawfile.accounts.sessions import HintedRead


class SessionStore(HintedRead, db.SessionStore):  # type: ignore[misc]
    pass
