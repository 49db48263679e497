"""Request bodies over a size limit are refused with 413 before anything reads them.

Limits are per route: the upload routes (``UPLOAD_ROUTES``: photo upload and attachment add,
web and API, and a finder's report with its photo) accept ``PAWFILE_MAX_UPLOAD_BODY`` bytes
(16 MB: a 15 MB file and its form), every other request ``PAWFILE_MAX_BODY`` (1 MB).

Two places, one rule:

- ``RequestSizeMiddleware`` compares the declared ``Content-Length`` with the route's limit.
  It sits right after the request id, metrics, security-header and probe middleware (which
  never read a body), so nothing after it (the sign-in rate limits read the form; CSRF; Django's
  multipart parser, which spools files to disk) sees an oversized body. The common request
  costs one dictionary lookup: the route is resolved only for a body over the general limit.
- ``request_size_limited`` wraps the WSGI application (``pawfile.config.wsgi``) for bodies
  sent without a ``Content-Length`` (chunked). Django reads no body it has no length for, so
  such a body is read here, counted, up to the route's limit (in memory up to
  ``FILE_UPLOAD_MAX_MEMORY_SIZE``, then a temporary file) and handed on with its length; one
  over the limit is read no further and marked, and the middleware answers 413.

The 413 is the API's error format on ``/api/`` (``{"error": {"code": "too_large", ...}}``)
and a small page elsewhere.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable
from typing import IO, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext as _

GetResponse = Callable[[HttpRequest], HttpResponse]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The views that take a file. The API serves a pet's photo list (GET) and its upload (POST)
# at one path, which ninja names after the first: ``api:photo_list`` is the upload's too.
UPLOAD_ROUTES = frozenset(
    {"photo_upload", "attachment_add", "api:photo_list", "api:attachment_list", "lostpet:finder"}
)
TOO_LARGE = "pawfile.body_too_large"  # set in the WSGI environ by request_size_limited
_CHUNK = 64 * 1024


class RequestTooLarge(Exception):
    """A request body is larger than its route allows; ``limit`` is that limit in bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


def body_limit(path_info: str) -> int:
    """The largest body, in bytes, that a request to ``path_info`` may send."""
    try:
        match = resolve(path_info)
    except Resolver404:
        return int(settings.PAWFILE_MAX_BODY)
    if match.view_name in UPLOAD_ROUTES:
        return int(settings.PAWFILE_MAX_UPLOAD_BODY)
    return int(settings.PAWFILE_MAX_BODY)


def too_large_response(request: HttpRequest, limit: int) -> HttpResponse:
    """413 saying what the limit is: the API's error format on ``/api/``, a page elsewhere.

    Answered before the locale middleware runs, so the language is chosen here the way it
    would be without a session: the language cookie, then ``Accept-Language``.
    """
    language = translation.get_language_from_request(request)
    with translation.override(language):
        megabytes = max(1, round(limit / (1024 * 1024)))
        message = _("The request is too large: at most %(mb)s MB can be sent here.") % {
            "mb": megabytes
        }
        if request.path_info.startswith("/api/"):
            body = {"error": {"code": "too_large", "message": message, "fields": {}}}
            response: HttpResponse = JsonResponse(body, status=413)
        else:
            page = loader.get_template("413.html").render({"message": message})
            response = HttpResponse(page, status=413)
    response["Content-Language"] = language
    return response


class RequestSizeMiddleware:
    """Answers 413 when a request's body is over its route's limit, before anything reads
    it (see the module docstring for where it sits and why)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.max_body = int(settings.PAWFILE_MAX_BODY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        declared = meta.get("CONTENT_LENGTH")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                length = 0  # what Django reads then: nothing
            if length > self.max_body:
                limit = body_limit(request.path_info)
                if length > limit:
                    return too_large_response(request, limit)
        elif TOO_LARGE in meta:
            return too_large_response(request, meta[TOO_LARGE])
        return self.get_response(request)


class _CountedInput:
    """A request body read through a count: reading past ``limit`` raises
    ``RequestTooLarge`` (at most ``limit + 1`` bytes are ever read)."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.count = 0

    def read(self, size: int) -> bytes:
        data = self.stream.read(min(size, self.limit + 1 - self.count))
        self.count += len(data)
        if self.count > self.limit:
            raise RequestTooLarge(self.limit)
        return data


def _sent_without_length(environ: dict[str, Any]) -> bool:
    # A WSGI environ (the request's headers), not the process environment.
    request = environ
    return not request.get("CONTENT_LENGTH") and "chunked" in (
        request.get("HTTP_TRANSFER_ENCODING", "").lower()
    )


def _buffer_body(environ: dict[str, Any]) -> None:
    """Read a body sent without a length, up to its route's limit, and hand it on with its
    length; one over the limit is marked ``TOO_LARGE`` (with the limit) and left unread."""
    request = environ  # the request's WSGI environ, not the process environment
    limit = body_limit(request.get("PATH_INFO") or "/")
    counted = _CountedInput(environ["wsgi.input"], limit)
    body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115 - handed on as the request's input
    try:
        while chunk := counted.read(_CHUNK):
            body.write(chunk)
    except RequestTooLarge:
        body.close()
        environ[TOO_LARGE] = limit
        environ["wsgi.input"] = io.BytesIO()
        environ["CONTENT_LENGTH"] = ""
        return
    body.seek(0)
    environ["wsgi.input"] = body
    environ["CONTENT_LENGTH"] = str(counted.count)


def request_size_limited(app: WSGIApp) -> WSGIApp:
    """``app`` with bodies sent without a ``Content-Length`` counted against their route's
    limit (see the module docstring); every other request passes untouched."""

    def limited(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if _sent_without_length(environ):
            _buffer_body(environ)
        return app(environ, start_response)

    return limited
