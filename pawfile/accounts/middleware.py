"""Request-level parts of accounts: the signed-in user, auth rate limits, user preferences,
the admin gate."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from pawfile.accounts.authurls import auth_action
from pawfile.accounts.models import User
from pawfile.accounts.selectors import user_signing_in
from pawfile.accounts.tokens import MODEL_BACKENDS
from pawfile.lib.clientip import client_ip
from pawfile.lib.dates import zone_activate, zone_deactivate
from pawfile.lib.ratelimit import Rule, ratelimit_hit


def session_user(request: HttpRequest) -> User | AnonymousUser:
    """The user the request's session signs in, else ``AnonymousUser``: exactly what
    ``django.contrib.auth.get_user`` answers, with the same checks and their effects (the
    session names a user and one of ``AUTHENTICATION_BACKENDS``; that backend finds the user;
    the session's password hash is the user's under the current secret key, or under a
    fallback key, and then the session key is rotated and the hash renewed; otherwise the
    session is flushed). For the backends that load users as ``ModelBackend`` does (by
    primary key, active users only) the user is one hand-written SELECT
    (``accounts.selectors.user_signing_in``) instead of an ORM query."""
    user: User | None = None
    try:
        user_id = User._meta.pk.to_python(request.session[SESSION_KEY])
        backend_path = request.session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    if backend_path in MODEL_BACKENDS:
        session = request.session
        if getattr(session, "hinted_for", None) == user_id and user_id is not None:
            hinted = getattr(session, "hinted_user", None)  # read with the session
            user = hinted if hinted is not None and hinted.is_active else None
        else:
            user = user_signing_in(user_id)
    else:
        user = load_backend(backend_path).get_user(user_id)
    if user is None or not hasattr(user, "get_session_auth_hash"):
        return user or AnonymousUser()
    session_hash = request.session.get(HASH_SESSION_KEY)
    session_auth_hash = user.get_session_auth_hash()
    if session_hash and constant_time_compare(session_hash, session_auth_hash):
        return user
    if session_hash and any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        request.session.cycle_key()
        request.session[HASH_SESSION_KEY] = session_auth_hash
        return user
    request.session.flush()
    return AnonymousUser()


# Session key -> the id of the user it signed in, as seen by this process (the hint of
# ``accounts.sessions``). Bounded: emptied when full, each entry re-learned on its next use.
_session_users: dict[str, int] = {}
SESSION_USERS_MAX = 20_000


def _request_user(request: HttpRequest) -> User | AnonymousUser:
    if not hasattr(request, "_cached_user"):
        user = session_user(request)
        key = request.session.session_key
        if user.is_authenticated and key and _session_users.get(key) != user.pk:
            if len(_session_users) >= SESSION_USERS_MAX:
                _session_users.clear()
            _session_users[key] = user.pk
        request._cached_user = user  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


class SessionUserMiddleware(AuthenticationMiddleware):
    """Django's ``AuthenticationMiddleware`` (``request.user``, read on first use, and
    ``request.auser``) with ``request.user`` read by ``session_user``: when this process
    has seen the session's user before, the session engines of ``accounts.sessions`` read
    the session and that user in one statement (the session key's ``user_hint``)."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        session = request.session
        hint = _session_users.get(session.session_key or "")
        if hint is not None and hasattr(session, "user_hint"):
            session.user_hint = hint
        request.user = SimpleLazyObject(lambda: _request_user(request))  # type: ignore[assignment]


@cache
def _rules(action: str) -> tuple[Rule, Rule]:
    per_ip, _sep, per_account = settings.PAWFILE_RATELIMITS[action].partition(",")
    return Rule.parse(per_ip), Rule.parse(per_account or per_ip)


def _account_key(request: HttpRequest, action: str) -> str | None:
    """Who the attempt is about: the email typed, the pending login, or the refresh token."""
    data: dict[str, object] = {}
    if request.content_type == "application/json":
        try:
            parsed = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            parsed = {}
        data = parsed if isinstance(parsed, dict) else {}
    else:
        data = {k: request.POST.get(k) for k in ("login", "email")}
    for field in ("login", "email"):
        value = data.get(field)
        if isinstance(value, str) and value.strip():
            return "email:" + value.strip().lower()
    if action == "token_refresh":
        token = data.get("refresh_token")
        return "refresh:" + token if isinstance(token, str) else None
    if action == "mfa":
        pending = request.session.get("account_login") if hasattr(request, "session") else None
        if isinstance(pending, dict) and pending.get("user_pk"):
            return f"user:{pending['user_pk']}"
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        token = request.headers.get("X-Session-Token")
        return "session:" + token if token else None
    return None


def _too_many(request: HttpRequest, retry_after: int) -> HttpResponse:
    message = _("Too many attempts. Please wait %(seconds)s seconds and try again.") % {
        "seconds": retry_after
    }
    response: HttpResponse
    if request.path.startswith("/_allauth/") or "application/json" in request.headers.get(
        "Accept", ""
    ):
        response = JsonResponse(
            {"status": 429, "error": {"code": "rate_limited", "message": message}}, status=429
        )
    else:
        html = render_to_string("429.html", {"message": message}, request=request)
        response = HttpResponse(html, status=429)
    response["Retry-After"] = str(retry_after)
    return response


class AuthRateLimitMiddleware:
    """Limits POSTs to every auth path per client IP and per account.

    Answers 429 with ``Retry-After`` (JSON for API paths, a page for the web). Known and
    unknown emails are counted alike, so the limit reveals nothing about which exist.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            action = auth_action(request.path_info)
            if action is not None:
                blocked = self._check(request, action)
                if blocked is not None:
                    return blocked
        return self.get_response(request)

    def _check(self, request: HttpRequest, action: str) -> HttpResponse | None:
        ip_rule, account_rule = _rules(action)
        decision = ratelimit_hit(f"{action}:ip", client_ip(request), ip_rule)
        if not decision.allowed:
            return _too_many(request, decision.reset)
        key = _account_key(request, action)
        if key:
            decision = ratelimit_hit(f"{action}:account", key, account_rule)
            if not decision.allowed:
                return _too_many(request, decision.reset)
        return None


class UserPreferencesMiddleware:
    """Activates the signed-in user's chosen language (the browser's otherwise) and time zone
    (the site's, UTC, otherwise) for the request; the zone is deactivated when the request
    ends, so a thread's next request never inherits it. It reads the user, so from here on
    ``request.user`` is the user itself rather than the lazy proxy (no indirection on each
    of the page's many reads of it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if hasattr(request, "_cached_user"):  # read just now (SessionUserMiddleware)
            request.user = user = request._cached_user
        locale = getattr(user, "locale", "") if signed_in else ""
        if locale:
            translation.activate(locale)
            request.LANGUAGE_CODE = locale
        if signed_in:
            zone_activate(user)
        else:
            zone_deactivate()
        try:
            return self.get_response(request)
        finally:
            zone_deactivate()


@cache
def _admin_networks(
    spec: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


class AdminGuardMiddleware:
    """The admin is for staff with MFA, from allowed networks only.

    Outside ``PAWFILE_ADMIN_ALLOWED_IPS`` (when set) the admin answers 404. Staff without
    MFA are sent to set it up before they can enter.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix = "/" + settings.PAWFILE_ADMIN_PATH

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(self.prefix):
            blocked = self._check(request)
            if blocked is not None:
                return blocked
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        from django.http import Http404

        allowed = settings.PAWFILE_ADMIN_ALLOWED_IPS
        if allowed:
            ip = ipaddress.ip_address(client_ip(request))
            if not any(ip in net for net in _admin_networks(tuple(allowed))):
                raise Http404
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{settings.LOGIN_URL and '/accounts/login/'}?next={request.path}")
        if not user.is_staff:
            raise Http404
        from allauth.mfa.utils import is_mfa_enabled

        if not is_mfa_enabled(user):
            from django.contrib import messages

            messages.warning(request, _("Set up two-factor authentication to use the admin."))
            return redirect("mfa_activate_totp")
        return None
