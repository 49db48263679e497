"""JWT access and refresh tokens for API clients, on top of allauth headless.

allauth issues an access token and a refresh token bound to a server-side session (the
"token family"), checks access tokens against that session on every request (stateful
validation, so logout or a password change kills them), and rotates the refresh token on
each use. Pawfile adds two things:

* an audience (``aud``) and issuer (``iss``) claim, checked on every access token, so a token
  minted for another service with the same key is refused;
* refresh-token reuse detection: a rotated refresh token presented again means it was copied,
  so the whole family (the session, every access and refresh token in it) is revoked.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import jwt
from allauth.core.internal.httpkit import get_authorization_credential
from allauth.headless import app_settings
from allauth.headless.tokens.strategies.jwt import JWTTokenStrategy
from allauth.headless.tokens.strategies.jwt import internal as jwt_internal
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

log = logging.getLogger(__name__)

ROTATED_KEY = "pawfile_rotated_refresh_tokens"


def access_token_decode(token: str) -> dict[str, Any] | None:
    """The verified claims of an access token, or ``None`` if it must be refused.

    Refused: a bad signature, an algorithm other than the configured one (``none`` included),
    an expired token, a wrong audience or issuer, a refresh token, missing claims.
    """
    config = jwt_internal._get_jwt_config()
    try:
        payload = jwt.decode(
            token,
            key=config.verifying_key,
            algorithms=[config.algorithm],
            audience=settings.PAWFILE_JWT_AUDIENCE,
            issuer=settings.PAWFILE_BASE_URL,
            options={"require": ["exp", "iat", "aud", "iss", "sub", "sid", "jti"]},
        )
    except jwt.PyJWTError:
        return None
    if payload.get("token_use") != "access":
        return None
    if not all(isinstance(payload.get(k), str) for k in ("jti", "sub", "sid")):
        return None
    return payload


def access_token_validate(token: str) -> tuple[AbstractBaseUser, dict[str, Any]] | None:
    """The user and claims for a valid access token whose session is still alive."""
    payload = access_token_decode(token)
    if payload is None:
        return None
    session = jwt_internal.get_token_session(payload)
    if session is None:
        return None
    user = jwt_internal.validate_token_user(payload, session)
    if user is None:
        return None
    return user, payload


def token_family_revoke(session: SessionBase, *, reason: str) -> None:
    """End the session a token family hangs on: every token issued in it stops working."""
    from allauth.usersessions.models import UserSession

    key = session.session_key
    log.warning("token family revoked", extra={"reason": reason})
    if key:
        UserSession.objects.filter(session_key=key).delete()
        session.delete(key)


class PawfileJWTStrategy(JWTTokenStrategy):
    """allauth's JWT strategy with audience checks and refresh-token reuse detection."""

    def get_claims(self, user: AbstractBaseUser) -> dict[str, Any]:
        return {"aud": settings.PAWFILE_JWT_AUDIENCE, "iss": settings.PAWFILE_BASE_URL}

    def _get_access_token(self, request: HttpRequest) -> dict[str, Any] | None:
        credential = get_authorization_credential(
            request, app_settings.JWT_AUTHORIZATION_HEADER_SCHEME
        )
        if credential is None:
            return None
        result = access_token_validate(credential)
        return None if result is None else result[1]

    def refresh_token(self, refresh_token: str) -> tuple[str, str] | None:
        """Exchange a refresh token for a new access + refresh pair, or ``None``.

        A refresh token that was already exchanged revokes its whole family.
        """
        payload = jwt_internal.decode_token(refresh_token, "refresh")
        if payload is None:
            return None
        session = jwt_internal.get_token_session(payload)
        if session is None:
            return None
        now = time.time()
        rotated: dict[str, int] = {
            jti: exp for jti, exp in session.get(ROTATED_KEY, {}).items() if exp > now
        }
        jti = payload["jti"]
        if jti in rotated:
            token_family_revoke(session, reason="refresh token reused")
            return None
        active = jwt_internal.get_refresh_token_state(session)
        expires = active.get(jti)
        if expires is None or expires <= now:
            return None
        user = jwt_internal.validate_token_user(payload, session)
        if user is None:
            return None
        access = jwt_internal.create_access_token(user, session, self.get_claims(user))
        jwt_internal.invalidate_refresh_token(session, payload)
        rotated[jti] = int(payload["exp"])
        session[ROTATED_KEY] = rotated
        next_refresh = jwt_internal.create_refresh_token(user, session)
        session.save()
        return access, next_refresh
