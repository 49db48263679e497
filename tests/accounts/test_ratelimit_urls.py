"""Every URL allauth serves is either rate-limited as a sign-in attempt or exempt for a reason.

The URL map is walked as Django serves it (web pages and the headless API of every client),
so an allauth upgrade that adds or renames an endpoint fails here until it is classified:
limited (``pawfile.accounts.authurls``) or exempt (``EXEMPT`` below, with the reason). Each
limited URL is then POSTed to with its limit used up and must answer 429.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from pawfile.accounts import authurls
from pawfile.lib.ratelimit import Rule, ratelimit_hit

# Consciously not limited: URL name (headless names without their client), or the route of
# an unnamed pattern, with the reason.
SIGNED_IN = "only for a signed-in user, who proves nothing new here"
REAUTHENTICATED = "only for a signed-in user who has just re-authenticated (itself limited)"
PAGE = "a page that takes no input"
EXEMPT: dict[str, str] = {
    "account_logout": "ends the caller's own session",
    "account_inactive": PAGE,
    "account_email": REAUTHENTICATED + "; allauth limits the mail it sends (manage_email)",
    "account_set_password": REAUTHENTICATED + "; sets a first password, checks none",
    "account_confirm_email": "the key in the path is signed and cannot be guessed",
    "account_reset_password_done": PAGE,
    "account_reset_password_from_key_done": PAGE,
    "mfa_index": PAGE,
    "mfa_activate_totp": REAUTHENTICATED + "; the code proves the user's own new authenticator",
    "mfa_deactivate_totp": REAUTHENTICATED,
    "mfa_view_recovery_codes": REAUTHENTICATED,
    "mfa_generate_recovery_codes": REAUTHENTICATED,
    "mfa_download_recovery_codes": REAUTHENTICATED,
    "mfa_list_webauthn": SIGNED_IN,
    "mfa_add_webauthn": REAUTHENTICATED,
    "mfa_remove_webauthn": REAUTHENTICATED,
    "mfa_edit_webauthn": REAUTHENTICATED,
    "socialaccount_login_cancelled": PAGE,
    "socialaccount_login_error": PAGE,
    "socialaccount_connections": REAUTHENTICATED,
    "accounts/social/login/cancelled/": "old address: redirects to the 3rdparty/ page",
    "accounts/social/login/error/": "old address: redirects to the 3rdparty/ page",
    "accounts/social/signup/": "old address: redirects to the 3rdparty/ page",
    "accounts/social/connections/": "old address: redirects to the 3rdparty/ page",
    "google_login": "starts the provider's sign-in (a redirect); nothing is checked",
    "google_callback": "the provider's answer, checked against the state this browser started",
    "openid_connect_login": "starts the provider's sign-in (a redirect); nothing is checked",
    "openid_connect_callback": "the provider's answer, checked against the state this browser "
    "started",
    "usersessions_list": SIGNED_IN + "; ends the user's own sessions",
    "headless:config": "the configuration, read only",
    "headless:account:current_session": "who is signed in; DELETE signs out",
    "headless:account:manage_email": REAUTHENTICATED
    + "; allauth limits the mail it sends (manage_email)",
    "headless:account:manage_phone": REAUTHENTICATED,
    "headless:socialaccount:manage_providers": REAUTHENTICATED,
    "headless:socialaccount:redirect_to_provider": "starts the provider's sign-in (a redirect)",
    "headless:mfa:authenticators": "the user's authenticators, read only",
    "headless:mfa:manage_totp": REAUTHENTICATED,
    "headless:mfa:manage_recovery_codes": REAUTHENTICATED,
    "headless:mfa:manage_webauthn": REAUTHENTICATED,
    "headless:usersessions:sessions": SIGNED_IN + "; ends the user's own sessions",
    "headless:openapi_yaml": "the API's description, read only",
    "headless:openapi_json": "the API's description, read only",
    "headless:openapi_html": "the API's description, read only",
}

# A value for each parameter of the URLs that have some.
SAMPLES: dict[str, dict[str, object]] = {
    "first_admin": {"token": "abc"},
    "account_confirm_email": {"key": "abc"},
    "account_reset_password_from_key": {"uidb36": "1", "key": "set-password"},
    "mfa_remove_webauthn": {"pk": 1},
    "mfa_edit_webauthn": {"pk": 1},
    "openid_connect_login": {"provider_id": "oidc"},
    "openid_connect_callback": {"provider_id": "oidc"},
}


@dataclass(frozen=True)
class Endpoint:
    name: str | None  # the full URL name (``headless:app:account:login``)
    route: str
    key: str  # what EXEMPT knows it by

    @property
    def path(self) -> str:
        if self.name is None:
            return "/" + self.route
        return reverse(self.name, kwargs=SAMPLES.get(self.name))


def _walk(
    resolver: URLResolver, route: str = "", namespaces: tuple[str, ...] = (), ours: bool = False
) -> Iterator[tuple[URLPattern, str, tuple[str, ...], bool]]:
    """Every pattern with its full route, namespaces, and whether an allauth URL map holds it."""
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            spaces = namespaces + ((pattern.namespace,) if pattern.namespace else ())
            conf = getattr(pattern.urlconf_name, "__name__", pattern.urlconf_name)
            inside = ours or (isinstance(conf, str) and conf.startswith("allauth."))
            yield from _walk(pattern, route + str(pattern.pattern), spaces, inside)
        elif isinstance(pattern, URLPattern):
            yield pattern, route + str(pattern.pattern), namespaces, ours


def served_auth_endpoints() -> list[Endpoint]:
    """Every URL served by allauth, and Pawfile's own first-admin page."""
    clients = authurls.headless_clients()
    found = []
    for pattern, route, namespaces, in_allauth in _walk(get_resolver()):
        module = getattr(pattern.callback, "__module__", "") or ""
        if not (in_allauth or module.startswith("allauth.") or pattern.name == "first_admin"):
            continue
        name = ":".join((*namespaces, pattern.name)) if pattern.name else None
        key = name or route
        parts = key.split(":")
        if parts[0] == "headless" and len(parts) > 2 and parts[1] in clients:
            key = ":".join([parts[0], *parts[2:]])
        found.append(Endpoint(name, route, key))
    return found


def test_every_allauth_url_is_limited_or_exempt_for_a_reason() -> None:
    endpoints = served_auth_endpoints()
    limited = authurls.limited_names()
    assert len(endpoints) > 80  # web pages and both headless clients were found
    unclassified = [e.route for e in endpoints if e.name not in limited and e.key not in EXEMPT]
    assert not unclassified, f"classify these in authurls (limited) or EXEMPT: {unclassified}"
    both = [e.key for e in endpoints if e.name in limited and e.key in EXEMPT]
    assert not both, f"both limited and exempt: {both}"
    served = {e.key for e in endpoints}  # headless names without their client
    known = set(authurls.WEB) | {f"headless:{name}" for name in authurls.HEADLESS}
    stale = sorted(known - served) + sorted(set(EXEMPT) - served)
    assert not stale, f"no longer served, remove: {stale}"


def test_exempt_urls_are_not_counted() -> None:
    for endpoint in served_auth_endpoints():
        if endpoint.key in EXEMPT:
            assert authurls.auth_action(endpoint.path) is None, endpoint.path


@pytest.fixture
def limits_used_up(settings) -> Iterator[None]:
    """Every auth limit at one attempt a minute per IP, and that attempt already made."""
    from pawfile.accounts import middleware

    actions = set(authurls.limited_names().values())
    settings.PAWFILE_RATELIMITS = dict.fromkeys(actions, "1/60,1/60")
    middleware._rules.cache_clear()
    for action in actions:
        ratelimit_hit(f"{action}:ip", "127.0.0.1", Rule(1, 60))
    yield
    middleware._rules.cache_clear()


@pytest.mark.usefixtures("limits_used_up")
def test_every_limited_url_answers_429_once_its_limit_is_used(db: None) -> None:
    client = Client(REMOTE_ADDR="127.0.0.1")
    limited = authurls.limited_names()
    not_limited = []
    checked = 0
    for endpoint in served_auth_endpoints():
        if endpoint.name not in limited:
            continue
        assert authurls.auth_action(endpoint.path) == limited[endpoint.name], endpoint.path
        if endpoint.name.startswith("headless:"):
            response = client.post(endpoint.path, {}, content_type="application/json")
        else:
            response = client.post(endpoint.path, {"login": "someone@example.org"})
        checked += 1
        if response.status_code != 429:
            not_limited.append((endpoint.path, response.status_code))
    assert not not_limited
    assert checked >= 50


def test_a_neighbour_of_a_url_with_parameters_is_not_counted() -> None:
    # /accounts/password/reset/key/done/ shares the fixed part of the reset-from-key URL
    assert authurls.auth_action(reverse("account_reset_password_from_key_done")) is None
    assert authurls.auth_action("/accounts/password/reset/key/nothing-here/x/y") is None
