"""Who is calling ``/api/v1``: ninja's auth classes and the acting user of a request.

They live here, not in ``pawfile.lib.api``, because they know the ``User`` model and the
token check of ``accounts.tokens``; ``lib`` imports no app. Both classes count the request
against the user's rate-limit bucket once the user is known (``lib.api.ratelimit_user_hit``);
a bearer call's user is counted earlier, with its IP, by ``lib.api.rate_limited``, which
asks ``_token_subject`` (registered here) whom a verified token names.

The caller's time zone: a session call has it from ``accounts.middleware.
UserPreferencesMiddleware`` like any page; a bearer call skips that middleware
(``lib.apipath``), so ``BearerAuth`` activates the token user's zone
(``lib.dates.zone_activate``) and ``BearerApiMiddleware`` deactivates it when the call ends.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from pawfile.accounts.models import User
from pawfile.accounts.tokens import access_token_decode, access_token_validate
from pawfile.lib.api import ApiError, bearer_subject_register, ratelimit_user_hit
from pawfile.lib.dates import zone_activate


def acting_user(request: HttpRequest) -> User:
    """The authenticated user of an API request (auth has already run)."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _token_subject(token: str) -> str | None:
    """The user id a verified access token names (signature and claims only: no query)."""
    payload = access_token_decode(token)
    return None if payload is None else str(payload["sub"])


bearer_subject_register(_token_subject)


class BearerAuth(HttpBearer):
    """``Authorization: Bearer <JWT access token>`` issued by the allauth headless endpoints."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        result = access_token_validate(token)
        if result is None:
            return None
        user, _payload = result
        request.user = user  # type: ignore[assignment]
        ratelimit_user_hit(request, user)
        zone_activate(user)
        return user


class SessionCsrfAuth(SessionAuth):
    """The browser session; unsafe methods need the CSRF token like any form post.

    Without a signed-in session this auth does not apply (401, not a CSRF 403): the CSRF
    check protects a session, and there is none.
    """

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise ApiError(
                403, "csrf_failed", _("The CSRF token is missing or wrong; reload the page.")
            )
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None:
            ratelimit_user_hit(request, user)
        return user
