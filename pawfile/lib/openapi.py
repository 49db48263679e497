"""The ``/api/v1`` OpenAPI document: built once per process, checked as it is built.

Ninja builds the document from every operation's models on each request to
``openapi.json`` (0.5–0.95 s on a busy two-core machine). Nothing in it changes while the
process runs (routes, models and descriptions are fixed at import), so ``OpenApiOnce`` keeps
the first one built for each path prefix; a new release is a new process.

While building, a response status given both by an operation's ``response=`` (an ``int``
key) and by its ``openapi_extra`` (a ``str`` key) would end up twice in the JSON, which
strict parsers (Swagger UI's YAML parser: "duplicated mapping key") refuse. Such a document
is refused here, at the first request, with the operation named; ``file_response`` gives
the ``openapi_extra`` of a download with ``int`` keys so the two merge.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

BINARY = {"type": "string", "format": "binary"}


def file_response(description: str, media_types: tuple[str, ...]) -> dict[str, Any]:
    """``openapi_extra`` for an operation whose 200 is a file of one of ``media_types``.

    Pair it with ``response=responses({200: None})`` (the error responses stay documented);
    the ``int`` key merges with ninja's own 200 instead of standing beside it.
    """
    content = {media_type: {"schema": dict(BINARY)} for media_type in media_types}
    return {"responses": {200: {"description": description, "content": content}}}


def response_keys_check(schema: dict[str, Any]) -> None:
    """Refuse a document where one operation documents a status twice (``200`` and ``"200"``).

    Raises ``ImproperlyConfigured`` naming the operations; returns nothing otherwise.
    """
    clashes = []
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            codes = [str(code) for code in operation.get("responses", {})]
            if len(codes) != len(set(codes)):
                clashes.append(f"{method.upper()} {path}")
    if clashes:
        raise ImproperlyConfigured(
            "A response status is documented twice (int and str keys): " + ", ".join(clashes)
        )


class OpenApiOnce(NinjaAPI):
    """A ``NinjaAPI`` that builds its OpenAPI document once per process and path prefix."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._openapi_documents: dict[str, OpenAPISchema] = {}
        self._openapi_lock = threading.Lock()

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        """The document for ``path_prefix`` (the API's root by default), built on first use.

        Raises ``ImproperlyConfigured`` when the document documents a status twice.
        """
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        document = self._openapi_documents.get(path_prefix)
        if document is None:
            # One build at a time: a cold start with many requests builds it once, not N times.
            with self._openapi_lock:
                document = self._openapi_documents.get(path_prefix)
                if document is None:
                    document = super().get_openapi_schema(path_prefix=path_prefix)
                    response_keys_check(document)
                    self._openapi_documents[path_prefix] = document
        return document
