"""A WSGI app that replays recorded responses: the floor the real server is measured against.

``bench/web.py`` fetches each endpoint once from the real server, writes the status line,
headers and body to a JSON file and serves this module with the same granian settings. The
difference between the two is the cost of Django and Pawfile; what both share (granian,
the WSGI bridge, the network stack) is the floor.

The file is named by ``PAWFILE_BENCH_RESPONSES``:
``{"/path": {"status": "200 OK", "headers": [[name, value], ...], "body": base64}}``.
Unknown paths answer 404.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable
from typing import Any

Response = tuple[str, list[tuple[str, str]], bytes]

NOT_FOUND: Response = (
    "404 Not Found",
    [("Content-Type", "text/plain"), ("Content-Length", "10")],
    b"not found\n",
)


def load(path: str) -> dict[str, Response]:
    """The recorded responses in ``path``, by request path."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return {
        key: (
            value["status"],
            [(name, header) for name, header in value["headers"]],
            base64.b64decode(value["body"]),
        )
        for key, value in data.items()
    }


RESPONSES = load(os.environ["PAWFILE_BENCH_RESPONSES"])


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer with the recorded response for ``PATH_INFO``."""
    status, headers, body = RESPONSES.get(environ.get("PATH_INFO", ""), NOT_FOUND)
    start_response(status, headers)
    return [body]
