"""Placeholder; replaced by the ops work (request ids, metrics, security headers)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class _Pass:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


RequestIdMiddleware = MetricsMiddleware = SecurityHeadersMiddleware = _Pass
