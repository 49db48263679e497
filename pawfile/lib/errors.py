"""The one family of errors that services raise.

A service that refuses a request raises a ``ServiceError`` subclass: it carries a short
machine ``code``, a ``message`` a person can read (already translated), and, when the
problem is one input, the ``fields`` it concerns (``{"weight": ["Enter a number."]}``).

| error        | HTTP | web page                                   | API                      |
|--------------|------|--------------------------------------------|--------------------------|
| ``NotFound`` | 404  | Django's 404 page (it *is* an ``Http404``) | ``not_found``            |
| ``Forbidden``| 403  | Django's 403 page (a ``PermissionDenied``) | ``forbidden``            |
| ``Invalid``  | 422  | errors on the form's fields                | ``invalid`` + ``fields`` |
| ``Conflict`` | 409  | a message on the page it came from         | ``conflict``             |
| ``TooMany``  | 429  | a message on the page it came from         | ``rate_limited``         |

``NotFound`` is what a stranger gets for anything they may not see, so that they learn
nothing about what exists; ``Forbidden`` is for a member whose role is too low. Web views turn
these into pages or form errors in one place (``pawfile.lib.webforms``); the API turns them
into its error format in one place (``pawfile.lib.api.install_error_handlers``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import PermissionDenied
from django.http import Http404

ALL_FIELDS = "__all__"


class ServiceError(Exception):
    """Base of every error a service raises on purpose; see the module docstring."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        field: str | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        if fields and not message:
            message = next((m for msgs in fields.values() for m in msgs), "")
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        merged: dict[str, list[str]] = {k: [str(m) for m in v] for k, v in (fields or {}).items()}
        if field is not None:
            merged.setdefault(field, []).append(message)
        self.fields = merged

    def __str__(self) -> str:
        return self.message


class NotFound(ServiceError, Http404):
    """Nothing the actor may see is there (also what strangers get): 404."""

    status = 404
    code = "not_found"


class Forbidden(ServiceError, PermissionDenied):
    """The actor may see the object but their role does not allow the action: 403."""

    status = 403
    code = "forbidden"


class Invalid(ServiceError):
    """The input cannot be accepted; ``fields`` says which inputs and why: 422."""

    status = 422
    code = "invalid"


class Conflict(ServiceError):
    """The request is understood but the current state does not allow it: 409."""

    status = 409
    code = "conflict"


class TooMany(ServiceError):
    """The actor has done this as often as allowed for now (invitations per day): 429."""

    status = 429
    code = "rate_limited"
