"""Shared pieces of the ``/api/v1`` API: authentication and the one error format.

Every error the API returns has the body
``{"error": {"code": str, "message": str, "fields": {field: [messages]}}}``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from pawfile.accounts.tokens import access_token_validate


class BearerAuth(HttpBearer):
    """``Authorization: Bearer <JWT access token>`` issued by the allauth headless endpoints."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        result = access_token_validate(token)
        if result is None:
            return None
        user, _payload = result
        request.user = user  # type: ignore[assignment]
        return user


class SessionCsrfAuth(SessionAuth):
    """The browser session; unsafe methods need the CSRF token like any form post."""

    def __init__(self) -> None:
        super().__init__(csrf=True)


def error_body(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _validation_fields(exc: ValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [
            str(part)
            for part in err.get("loc", ())
            if part not in ("body", "query", "path", "payload")
        ]
        fields.setdefault(".".join(loc) or "__all__", []).append(str(err.get("msg", "invalid")))
    return fields


def install_error_handlers(api: NinjaAPI) -> None:
    """Make every error from ``api`` use the one error format."""

    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        body = error_body("invalid", "Some fields are not valid.", _validation_fields(exc))
        return api.create_response(request, body, status=422)

    def on_auth(request: HttpRequest, exc: Any) -> HttpResponse:
        body = error_body("unauthenticated", "Sign in or send a valid access token.")
        return api.create_response(request, body, status=401)

    def on_http(request: HttpRequest, exc: Any) -> HttpResponse:
        codes = {
            400: "bad_request",
            403: "forbidden",
            404: "not_found",
            409: "conflict",
            429: "rate_limited",
        }
        body = error_body(codes.get(exc.status_code, "error"), str(exc))
        return api.create_response(request, body, status=exc.status_code)

    def on_404(request: HttpRequest, exc: Any) -> HttpResponse:
        return api.create_response(request, error_body("not_found", "Not found."), status=404)

    def on_permission(request: HttpRequest, exc: Any) -> HttpResponse:
        body = error_body("forbidden", "Your role in this household does not allow that.")
        return api.create_response(request, body, status=403)

    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(AuthenticationError, on_auth)
    api.add_exception_handler(HttpError, on_http)
    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(PermissionError, on_permission)
