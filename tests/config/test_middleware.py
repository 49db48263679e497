"""The middleware list is pinned, with a reason for each layer that bearer API calls skip.

``lib.apipath.BearerApiMiddleware`` runs a bearer-token ``/api/v1/`` call straight to its view:
every middleware after it is skipped for such calls. Adding, removing or moving a middleware
(CORS, an audit log, ...) fails this test until the list below says what bearer calls do
about it: skip it (give the reason here) or get its effect elsewhere (put it before
``BearerApiMiddleware``, or do it in ``BearerApiMiddleware`` or the API's auth class).
"""

from __future__ import annotations

from django.conf import settings

from pawfile.config import settings as pawfile_settings

BEARER = "pawfile.lib.apipath.BearerApiMiddleware"

# Run for every request, bearer API calls included.
BEFORE_BEARER = [
    "pawfile.ops.middleware.RequestIdMiddleware",
    "pawfile.ops.middleware.MetricsMiddleware",
    "pawfile.ops.middleware.SecurityHeadersMiddleware",
    "pawfile.ops.middleware.ProbeMiddleware",
    # Refuses a body over its route's size limit before anything reads it: after the four
    # above (they read no body, and so the 413 gets its request id, metrics and headers),
    # before everything else (the sign-in rate limits and CSRF read the form).
    "pawfile.lib.requestsize.RequestSizeMiddleware",
    "django.middleware.security.SecurityMiddleware",
]

# Skipped by bearer API calls, each with the reason it may be.
SKIPPED_BY_BEARER_CALLS = {
    "whitenoise.middleware.WhiteNoiseMiddleware": (
        "serves files under /static/ only; an /api/v1/ path is never one"
    ),
    "django.contrib.sessions.middleware.SessionMiddleware": (
        "a bearer call carries no cookie, so there is no session to load or save"
    ),
    "django.middleware.locale.LocaleMiddleware": (
        "BearerApiMiddleware activates the Accept-Language language itself and sets "
        "Content-Language and Vary (there is no language cookie to read)"
    ),
    "django.middleware.common.CommonMiddleware": (
        "API paths are exact (no slash redirects) and API clients are not user agents to "
        "refuse; BearerApiMiddleware sets Content-Length"
    ),
    "django.middleware.csrf.CsrfViewMiddleware": (
        "CSRF protects requests a browser authenticates with a cookie; a bearer call has none"
    ),
    "pawfile.accounts.middleware.SessionUserMiddleware": (
        "reads the user from the session (Django's AuthenticationMiddleware with a cheaper "
        "read); the API's bearer auth sets the token's user"
    ),
    "pawfile.accounts.middleware.AuthRateLimitMiddleware": (
        "limits POSTs to the sign-in paths, none of which is under /api/v1/ (the API has its "
        "own per-user and per-IP limits)"
    ),
    "pawfile.accounts.middleware.UserPreferencesMiddleware": (
        "activates the session user's language and time zone for pages; for API calls the "
        "auth class activates the token user's time zone, the language follows Accept-Language"
    ),
    "django.contrib.messages.middleware.MessageMiddleware": (
        "messages are shown on the next page; the API answers in JSON"
    ),
    "pawfile.accounts.middleware.AdminGuardMiddleware": (
        "guards the admin's path only, which is never under /api/v1/"
    ),
    "django.middleware.clickjacking.XFrameOptionsMiddleware": (
        "BearerApiMiddleware sets X-Frame-Options itself"
    ),
    "allauth.account.middleware.AccountMiddleware": (
        "allauth's page flows (pending sign-ins, reauthentication redirects) live in the "
        "session; a bearer call has none"
    ),
    "allauth.usersessions.middleware.UserSessionsMiddleware": (
        "records a browser session's last address and agent; a bearer call has no browser "
        "session (its token's session is checked by the token validation)"
    ),
}


def test_the_middleware_list_is_the_pinned_one() -> None:
    expected = [*BEFORE_BEARER, BEARER, *SKIPPED_BY_BEARER_CALLS]
    assert expected == pawfile_settings.MIDDLEWARE, (
        "The middleware list changed: decide what bearer API calls (which skip everything "
        "after BearerApiMiddleware) do about it, then update this test."
    )
    assert expected == settings.MIDDLEWARE


def test_every_skipped_middleware_has_a_reason() -> None:
    for path, reason in SKIPPED_BY_BEARER_CALLS.items():
        assert reason.strip() and "\n" not in reason, path
