"""Shared pieces of the ``/api/v1`` API: input schemas, the one error format and rate limits.
(Who is calling is decided by ``pawfile.accounts.apiauth``: ``lib`` imports no app.)

Every error the API returns has the body
``{"error": {"code": str, "message": str, "fields": {field: [messages]}}}``.

Rate limits: every request counts once against its client IP (before anything else runs) and,
once authenticated, once against its user. A bearer call whose token verifies (a signature
check, no query) counts both at once, before the user is loaded: one round trip to Redis
instead of two (``bearer_subject_register``). Every response carries ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` for the tighter of the two buckets; a request
over either limit gets 429 with ``Retry-After``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import (
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    ModelWrapValidatorHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from pawfile.lib.clientip import client_ip
from pawfile.lib.errors import Invalid, ServiceError
from pawfile.lib.ratelimit import Decision, Rule, ratelimit_hits

log = logging.getLogger("django.request")

# Ids are 64-bit database keys; anything outside is refused by validation, not by the database.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# One line of plain text, as ``lib.text.plain_line`` accepts it (names, titles, phones): the
# schema shows the rule and validation applies it before any service runs.
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("use the form 2025-01-31")


def _iso_instant(value: Any) -> Any:
    if isinstance(value, (str, dt.datetime)):
        return value
    raise ValueError("use a date and time with its offset, like 2025-01-31T18:30:00+01:00")


def _json_integer(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _form_bool(value: Any) -> Any:
    if isinstance(value, bool) or value in ("true", "false"):
        return value
    raise ValueError("use true or false")


# Inputs take the types the schema shows as they are: pydantic's lax mode would also take
# 0 for false, "3" for 3 and a number of seconds for a date, which no client means.
JsonBool = StrictBool
JsonFloat = StrictFloat


# JSON Schema counts 3.0 as an integer (the number, not its spelling), so the API takes it
# too (strings and booleans stay refused). Put it after a ``Field``'s bounds, so the schema
# shows them as ``minimum``/``maximum``: ``Annotated[StrictInt, Field(ge=0), AS_INTEGER]``.
AS_INTEGER = BeforeValidator(_json_integer)
JsonInt = Annotated[StrictInt, AS_INTEGER]
JsonId = Annotated[StrictInt, Field(ge=1, le=MAX_ID), AS_INTEGER]
Date = Annotated[dt.date, BeforeValidator(_iso_date)]  # JSON and query strings
# An instant with its offset, given as text (never a number of seconds).
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_instant)]
FormBool = Annotated[bool, BeforeValidator(_form_bool)]


# --- Errors --------------------------------------------------------------------------------


class ApiError(HttpError):
    """An error with its own code for the error body (``bad_cursor``, ``csrf_failed``...)."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(status_code, message)
        self.code = code


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class ErrorOut(Schema):
    """The body of every error response."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int, Any] = {
    400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut,
    429: ErrorOut,
}  # fmt: skip


def responses(ok: dict[int, Any]) -> dict[int, Any]:
    """``ok`` plus the documented error responses, for an operation's ``response=``."""
    return {**ok, **ERROR_RESPONSES}


def error_body(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _validation_fields(exc: ValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        # ("body", "payload", "name") -> "name"; ("query", "limit") -> "limit"
        loc = [str(part) for part in err.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "form", "file", "header", "cookie"):
            loc = loc[1:]
        if loc and loc[0] == "payload":
            loc = loc[1:]
        fields.setdefault(".".join(loc) or "__all__", []).append(str(err.get("msg", "invalid")))
    return fields


def fields_renamed(exc: Invalid, names: dict[str, str]) -> Invalid:
    """The same refusal with fields renamed to what the API client sent (``pets`` →
    ``pet_ids``); messages for fields that end up with one name are kept together."""
    fields: dict[str, list[str]] = {}
    for name, messages in exc.fields.items():
        fields.setdefault(names.get(name, name), []).extend(messages)
    return Invalid(exc.message, code=exc.code, fields=fields)


def install_error_handlers(api: NinjaAPI) -> None:
    """Make every error from ``api`` use the one error format.

    A service's refusal (``pawfile.lib.errors.ServiceError``: ``NotFound``, ``Forbidden``,
    ``Invalid``, ``Conflict``) answers with its own status, code, message and fields; the
    rest are ninja's and Django's own (bad bodies, authentication, unreadable requests).
    """

    def respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
        return api.create_response(request, body, status=status)

    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        body = error_body("invalid", _("Some fields are not valid."), _validation_fields(exc))
        return respond(request, 422, body)

    def on_service(request: HttpRequest, exc: Any) -> HttpResponse:
        # Every refusal of a service (pawfile.lib.errors): its own status, code and fields.
        fallback = {
            403: _("Your role in this household does not allow that."),
            404: _("Not found."),
            422: _("Some fields are not valid."),
        }
        message = exc.message or fallback.get(exc.status, _("That cannot be done now."))
        return respond(request, exc.status, error_body(exc.code, message, exc.fields))

    def on_auth(request: HttpRequest, exc: Any) -> HttpResponse:
        body = error_body("unauthenticated", _("Sign in or send a valid access token."))
        return respond(request, 401, body)

    def on_http(request: HttpRequest, exc: Any) -> HttpResponse:
        codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 409: "conflict",
                 429: "rate_limited"}  # fmt: skip
        message = str(exc)
        if exc.status_code == 400 and message.startswith("Cannot parse request body"):
            message = _("The request body is not valid JSON.")
        code = getattr(exc, "code", None) or codes.get(exc.status_code, "error")
        return respond(request, exc.status_code, error_body(code, message))

    def on_bad_request(request: HttpRequest, exc: Any) -> HttpResponse:
        body = error_body("bad_request", _("The request could not be read."))
        return respond(request, 400, body)

    def on_404(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, 404, error_body("not_found", _("Not found.")))

    def on_unexpected(request: HttpRequest, exc: Any) -> HttpResponse:
        # Logged like Django logs a 500, so error reporting and alerts still see it.
        log.error("API error: %s", request.path, exc_info=exc, extra={"status_code": 500})
        body = error_body("server_error", _("Something went wrong on our side."))
        return respond(request, 500, body)

    api.add_exception_handler(Exception, on_unexpected)
    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(ServiceError, on_service)
    api.add_exception_handler(AuthenticationError, on_auth)
    api.add_exception_handler(HttpError, on_http)
    api.add_exception_handler(SuspiciousOperation, on_bad_request)
    api.add_exception_handler(MultiPartParserError, on_bad_request)
    api.add_exception_handler(UnreadablePostError, on_bad_request)
    api.add_exception_handler(Http404, on_404)  # Django's own (a URL that names nothing)


# --- Input ---------------------------------------------------------------------------------


def _text_problem(value: Any) -> str | None:
    """Why a string in the input cannot be stored (NUL bytes, lone surrogates), or ``None``."""
    if isinstance(value, str):
        if "\x00" in value:
            return _("Text cannot contain NUL characters.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _("Text must be valid Unicode.")
        return None
    if isinstance(value, list | tuple):
        return next((p for p in map(_text_problem, value) if p), None)
    return None


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def unset(**kwargs: Any) -> Any:
    """A field that may be left out (it is then not changed) but, when sent, has its type.

    Used for PATCH bodies: ``name: str = unset(max_length=80)`` refuses ``"name": null``
    instead of storing it, and the schema shows no misleading ``default: null``.
    """
    return Field(default=None, json_schema_extra=_drop_default, **kwargs)


def _drop_default_and_null(schema: dict[str, Any]) -> None:
    schema.pop("default", None)
    branches = schema.get("anyOf")
    if isinstance(branches, list):
        kept = [b for b in branches if b != {"type": "null"}]
        if len(kept) == 1:
            del schema["anyOf"]
            schema.update(kept[0])


def optional(**kwargs: Any) -> Any:
    """A query or form parameter that may be left out (``None`` then).

    A query string or a form cannot say ``null``, so the schema shows just the type.
    """
    return Field(default=None, json_schema_extra=_drop_default_and_null, **kwargs)


class InputSchema(Schema):
    """Base of every request body: unknown fields (ids, owner, timestamps...) are refused with
    a 422 naming them, never ignored; text that no database can store is refused too."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, values: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        # Replaces ninja's validator of the same name, which validates a body twice when
        # extra fields are forbidden, the second time through its ORM attribute getter. A
        # request body is plain data: one validation, as pydantic does.
        return handler(values)

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        problem = _text_problem(value)
        if problem:
            raise ValueError(problem)
        return value


def form_unknown_refuse(
    request: HttpRequest, form: type[Schema] | None = None, files: tuple[str, ...] = ("file",)
) -> None:
    """Refuse multipart fields that ``form`` and ``files`` do not name.

    Ninja flattens a form schema into single parameters, so its ``extra="forbid"`` does not
    apply; this keeps uploads as strict as JSON bodies.
    """
    allowed = set(form.model_fields) if form is not None else set()
    unknown = sorted((set(request.POST) - allowed) | (set(request.FILES) - set(files)))
    if unknown:
        message = _("This field cannot be set.")
        raise Invalid(fields={name: [message] for name in unknown})


def set_fields(payload: Schema) -> dict[str, Any]:
    """The fields the client actually sent (a PATCH changes only those)."""
    return payload.model_dump(exclude_unset=True)


# --- Authentication ------------------------------------------------------------------------


def ratelimit_user_hit(request: HttpRequest, user: Any) -> None:
    """Count the request against ``user``'s bucket; 429 when over. Called by the auth
    classes (``pawfile.accounts.apiauth``) once the user is known; a bearer call whose
    user was counted with its IP (``rate_limited``) is not counted twice."""
    if getattr(request, "_pawfile_api_user_counted", None) == str(user.pk):
        return
    (decision,) = ratelimit_hits([_user_hit(str(user.pk))])
    request._pawfile_api_limits = [*_limits(request), decision]  # type: ignore[attr-defined]
    if not decision.allowed:
        raise _too_many(decision)


# The user id a bearer token names once its signature and claims verify (no query), or None;
# set by the app that issues tokens (``accounts.apiauth``), which ``lib`` cannot import.
_bearer_subject: Callable[[str], str | None] | None = None


def bearer_subject_register(subject: Callable[[str], str | None]) -> None:
    """Let ``rate_limited`` count a bearer call's user together with its IP.

    ``subject(token)`` must verify the token (a forged token must not spend a real user's
    bucket) and must not query the database; it returns the user id the token names."""
    global _bearer_subject
    _bearer_subject = subject


def _user_hit(user_id: str) -> tuple[str, str, Rule]:
    return ("api:user", user_id, _setting_rule("PAWFILE_API_RATELIMIT_USER"))


def _bearer_user_id(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if _bearer_subject is None or not header.startswith("Bearer "):
        return None
    return _bearer_subject(header[7:].strip())


# --- Rate limits ---------------------------------------------------------------------------


# Setting name -> default ("count/seconds").
RATELIMIT_SETTINGS = {"PAWFILE_API_RATELIMIT_USER": "600/60", "PAWFILE_API_RATELIMIT_IP": "1200/60"}


@lru_cache(maxsize=16)
def _rule(text: str) -> Rule:
    return Rule.parse(text)


def _setting_rule(name: str) -> Rule:
    return _rule(getattr(settings, name, RATELIMIT_SETTINGS[name]))


def ratelimit_settings_check() -> None:
    """Refuse to start with an API rate limit that does not parse (rather than 500 later)."""
    for name in RATELIMIT_SETTINGS:
        try:
            _setting_rule(name)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {exc}") from None


def _limits(request: HttpRequest) -> list[Decision]:
    return list(getattr(request, "_pawfile_api_limits", []))


def _too_many(decision: Decision) -> ApiError:
    message = _("Too many requests. Please wait %(seconds)s seconds and try again.") % {
        "seconds": decision.reset
    }
    return ApiError(429, "rate_limited", message)


def _limit_headers(response: HttpResponseBase, decisions: list[Decision]) -> None:
    tightest = min(decisions, key=lambda d: (d.allowed, d.remaining))
    response["RateLimit-Limit"] = str(tightest.limit)
    response["RateLimit-Remaining"] = str(tightest.remaining)
    response["RateLimit-Reset"] = str(tightest.reset)
    if response.status_code == 429:
        response["Retry-After"] = str(tightest.reset)


def rate_limited(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap an operation's ``run`` (see ``NinjaAPI.add_decorator``) with the API rate limits.

    The per-IP bucket is counted here, before authentication, so unauthenticated floods are
    cut too; the per-user bucket is counted by the auth classes once the user is known, or
    here with the IP's when a bearer token names its user (one round trip for both; a call
    refused for its IP then also spends one of its user's allowance).
    """

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        hits = [("api:ip", client_ip(request), _setting_rule("PAWFILE_API_RATELIMIT_IP"))]
        user_id = _bearer_user_id(request)
        if user_id is not None:
            hits.append(_user_hit(user_id))
            request._pawfile_api_user_counted = user_id  # type: ignore[attr-defined]
        decisions = ratelimit_hits(hits)
        request._pawfile_api_limits = decisions  # type: ignore[attr-defined]
        refused = [decision for decision in decisions if not decision.allowed]
        response: HttpResponseBase
        if not refused:
            response = run(request, *args, **kwargs)
        else:
            error = _too_many(max(refused, key=lambda decision: decision.reset))
            response = JsonResponse(error_body(error.code, error.message), status=429)
        _limit_headers(response, _limits(request))
        return response

    return wrapper
