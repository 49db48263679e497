"""Which URLs are sign-in attempts, and which rate limit each counts against.

A POST to one of the URLs named here is an attempt (a password, a code, a key, a token, a
new account, a mail sent to a typed address) and counts against a limit of
``PAWFILE_RATELIMITS`` (``accounts.middleware.AuthRateLimitMiddleware``). The table holds
allauth's URL *names*, not its paths: the paths are found with ``reverse()`` at first use, so
they follow allauth wherever it puts them. ``tests/accounts/test_ratelimit_urls.py`` walks
every URL allauth serves and fails on one that is neither here nor consciously exempt there,
so an allauth upgrade that adds or renames an endpoint cannot silently lose its limit.

Names missing from the URL map (an allauth feature turned off, a headless client not served)
are skipped.
"""

from __future__ import annotations

from functools import cache

from django.urls import (
    NoReverseMatch,
    Resolver404,
    get_script_prefix,
    get_urlconf,
    resolve,
    reverse,
)

# Web pages (allauth's and Pawfile's own), by URL name.
WEB: dict[str, str] = {
    "account_login": "login",
    "account_confirm_login_code": "login",
    "account_email_verification_sent": "login",  # takes the code when verifying by code
    "mfa_login_webauthn": "login",
    "google_login_by_token": "login",
    "account_signup": "signup",
    "socialaccount_signup": "signup",
    "first_admin": "signup",
    "account_reset_password": "password_reset",
    "account_reset_password_from_key": "password_reset",
    "account_reauthenticate": "mfa",
    "account_request_reauthentication_code": "mfa",
    "account_confirm_reauthentication_code": "mfa",
    "account_change_password": "mfa",  # checks the current password
    "mfa_authenticate": "mfa",
    "mfa_reauthenticate": "mfa",
    "mfa_reauthenticate_webauthn": "mfa",
}

# allauth's headless API, by URL name within each client's namespace (``headless:app:...``).
HEADLESS: dict[str, str] = {
    "account:login": "login",
    "account:confirm_login_code": "login",
    "account:verify_email": "login",
    "account:resend_email_verification_code": "login",
    "account:verify_phone": "login",
    "account:resend_phone_verification_code": "login",
    "mfa:login_webauthn": "login",
    "socialaccount:provider_token": "login",
    "account:signup": "signup",
    "socialaccount:provider_signup": "signup",
    "account:request_password_reset": "password_reset",
    "account:reset_password": "password_reset",
    "account:reauthenticate": "mfa",
    "account:request_reauthentication_code": "mfa",
    "account:confirm_reauthentication_code": "mfa",
    "account:resend_reauthentication_code": "mfa",
    "account:change_password": "mfa",
    "mfa:authenticate": "mfa",
    "mfa:reauthenticate": "mfa",
    "mfa:authenticate_webauthn": "mfa",
    "mfa:reauthenticate_webauthn": "mfa",
    "tokens:refresh": "token_refresh",
}

# URLs with parameters cannot be reversed to one path: a sample value of each parameter
# gives the fixed part in front of them, and a POST under it is resolved to check the name.
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "account_reset_password_from_key": ("uidb36", "key"),
    "first_admin": ("token",),
}
_SAMPLE = "PAWFILEARGUMENT"


def headless_clients() -> tuple[str, ...]:
    from allauth.headless import app_settings

    return tuple(app_settings.CLIENTS)


def limited_names() -> dict[str, str]:
    """Every limited URL name (headless ones per client, ``headless:app:account:login``)
    with the limit it counts against, served or not."""
    names = dict(WEB)
    for client in headless_clients():
        names |= {f"headless:{client}:{name}": action for name, action in HEADLESS.items()}
    return names


def _path(name: str, urlconf: str | None, kwargs: dict[str, str] | None = None) -> str:
    """The path of ``name`` as ``request.path_info`` shows it (without a script prefix)."""
    path = reverse(name, urlconf=urlconf, kwargs=kwargs)
    return "/" + path.removeprefix(get_script_prefix())


@cache
def _paths(urlconf: str | None) -> tuple[dict[str, str], tuple[tuple[str, str, str], ...]]:
    """``({path: limit}, ((fixed part, name, limit), ...))`` in ``urlconf``, built at first
    use."""
    exact: dict[str, str] = {}
    prefixed: list[tuple[str, str, str]] = []
    for name, action in limited_names().items():
        try:
            if name in ARGUMENTS:
                path = _path(name, urlconf, dict.fromkeys(ARGUMENTS[name], _SAMPLE))
                prefixed.append((path[: path.index(_SAMPLE)], name, action))
            else:
                exact[_path(name, urlconf)] = action
        except NoReverseMatch:
            continue
    return exact, tuple(prefixed)


def auth_action(path_info: str) -> str | None:
    """The limit (a key of ``PAWFILE_RATELIMITS``) a POST to ``path_info`` counts against,
    or ``None`` when it is not a sign-in attempt."""
    urlconf = get_urlconf()
    exact, prefixed = _paths(urlconf)
    action = exact.get(path_info)
    if action is not None:
        return action
    for prefix, name, action in prefixed:
        if path_info.startswith(prefix):
            try:
                match = resolve(path_info, urlconf)
            except Resolver404:
                return None
            if match.view_name == name:
                return action
    return None
