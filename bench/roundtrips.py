"""What one API call costs besides the HTTP server: queries, cache calls, round trips, CPU.

Run as a subprocess with the benchmark's environment (one mode, one variant):

    python bench/roundtrips.py --pet-id ID [--requests 200] [--tokens-file FILE]

It signs in through the headless login (or, with ``--tokens-file``, gives every request a
token of its own from the pool), then calls the WSGI application that granian serves,
``pawfile.config.wsgi:application``, directly in this process: a few calls to warm up, then
``--requests`` calls of each endpoint, counting for each call

* ``queries``: the SQL statements the application ran (Django's execute wrapper);
* ``db round trips``: everything sent to PostgreSQL, the statements plus ``BEGIN``/``COMMIT``
  and connection health checks (counted in psycopg); SQLite runs in the process: ``-``;
* ``cache calls``: with Redis, the commands sent to it (a pipeline or a script is one),
  the task queue's included; in embedded mode, the calls to the in-process cache;
* CPU: this process's CPU time per call and, on PostgreSQL, that of the server process
  answering its connection (from ``/proc``).

Prints one JSON list of ``{"endpoint", "queries", "db_round_trips", "cache_calls", "cpu_ms",
"db_cpu_ms", "wall_ms"}``, per call. Not part of the product.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
for folder in (BENCH_DIR, BENCH_DIR.parent):  # the helpers, and this checkout's pawfile
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from apidata import EMAIL, PASSWORD, RECORD_BODY  # noqa: E402
from wrkload import ENDPOINTS  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
CACHE_METHODS = (
    "add", "get", "set", "touch", "delete", "get_many", "has_key", "incr", "decr",
    "set_many", "delete_many", "get_or_set", "clear", "windows_hit",
)  # fmt: skip


class Counts:
    """Running totals, read before and after each call."""

    def __init__(self) -> None:
        self.queries = 0
        self.db = 0
        self.cache = 0

    def snapshot(self) -> tuple[int, int, int]:
        return self.queries, self.db, self.cache


COUNTS = Counts()


def _counting(function: Callable[..., Any], field: str) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        setattr(COUNTS, field, getattr(COUNTS, field) + 1)
        return function(*args, **kwargs)

    return counted


def _psycopg_counted() -> None:
    """Count every statement and transaction command psycopg sends (health checks too)."""
    import psycopg
    from psycopg import _connection_base

    psycopg.Cursor.execute = _counting(psycopg.Cursor.execute, "db")  # type: ignore[method-assign]
    psycopg.Cursor.executemany = _counting(psycopg.Cursor.executemany, "db")  # type: ignore[method-assign]
    original = _connection_base.BaseConnection._exec_command

    def exec_command(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        COUNTS.db += 1  # BEGIN, COMMIT, ROLLBACK, SAVEPOINT...
        return (yield from original(self, *args, **kwargs))

    _connection_base.BaseConnection._exec_command = exec_command  # type: ignore[assignment,method-assign]


def _redis_counted() -> None:
    """Count every command sent to Redis, on any connection (the pooled ones and those a
    thread keeps, ``lib.rediscache``); a pipeline's ``execute`` is one."""
    import redis.client
    import redis.connection

    connection = redis.connection.AbstractConnection
    connection.send_command = _counting(connection.send_command, "cache")  # type: ignore[method-assign]
    redis.client.Pipeline.execute = _counting(redis.client.Pipeline.execute, "cache")  # type: ignore[method-assign]


def _cache_api_counted() -> None:
    """Count calls to the in-process cache (embedded mode)."""
    from django.core.cache import caches

    backend = caches["default"]
    for name in CACHE_METHODS:
        setattr(backend, name, _counting(getattr(backend, name), "cache"))


def _backend_cpu(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def _backend_pid() -> int | None:
    """The PostgreSQL server process answering this process's connection, if local."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def wsgi_call(
    app: Callable[..., Any], method: str, path: str, token: str = "", body: Any = None
) -> tuple[int, bytes]:
    """``(status, body)`` of one call to the WSGI application."""
    raw = json.dumps(body).encode() if body is not None else b""
    route, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": route, "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_ACCEPT": "application/json", "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
        "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }  # fmt: skip
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if body is not None:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(raw))
    answer: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[..., Any]:
        answer.append(status)
        return lambda data: None

    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return int(answer[0].split(" ", 1)[0]), content


class Call:
    """One endpoint's call, checked: a status other than ``expected`` stops the count."""

    def __init__(
        self, app: Callable[..., Any], method: str, path: str, body: Any, expected: int
    ) -> None:
        self.app, self.method, self.path, self.body, self.expected = (
            app, method, path, body, expected,
        )  # fmt: skip

    def __call__(self, token: str) -> None:
        status, content = wsgi_call(self.app, self.method, self.path, token, self.body)
        if status != self.expected:
            raise SystemExit(f"{self.method} {self.path} answered {status}: {content[:300]!r}")


def count(pet_id: int, requests: int, tokens: Sequence[str]) -> list[dict[str, Any]]:
    """Warm each endpoint up, then measure ``requests`` calls of it (see the module doc)."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    scaleout = connection.vendor == "postgresql"
    _psycopg_counted()
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        _redis_counted()
    else:
        _cache_api_counted()
    app = get_wsgi_application()
    status, content = wsgi_call(
        app, "POST", "/_allauth/app/v1/auth/login", body={"email": EMAIL, "password": PASSWORD}
    )
    if status != 200:
        raise SystemExit(f"login answered {status}: {content[:300]!r}")
    login_token = json.loads(content)["meta"]["access_token"]
    pool = iter(tokens)
    statements = [0]

    def wrapper(execute: Callable[..., Any], *args: Any) -> Any:
        statements[0] += 1
        return execute(*args)

    out = []
    with connection.execute_wrapper(wrapper):
        for endpoint in ENDPOINTS:
            path = endpoint.path.format(pet_id=pet_id)
            body = RECORD_BODY if endpoint.method == "POST" else None
            call = Call(app, endpoint.method, path, body, endpoint.status)

            def token(sends: bool = endpoint.token) -> str:
                return (next(pool) if tokens else login_token) if sends else ""

            for _ in range(10):
                call(token())
            pid = _backend_pid() if scaleout else None
            before, queries_before = COUNTS.snapshot(), statements[0]
            db_cpu_before = _backend_cpu(pid)
            cpu_before = time.process_time()
            walls = []
            for _ in range(requests):
                start = time.perf_counter()
                call(token())
                walls.append((time.perf_counter() - start) * 1000)
            cpu = (time.process_time() - cpu_before) * 1000 / requests
            db_cpu_after = _backend_cpu(pid)
            after, queries_after = COUNTS.snapshot(), statements[0]
            same_backend = pid is not None and _backend_pid() == pid
            db_cpu = (
                (db_cpu_after - db_cpu_before) * 1000 / requests
                if same_backend and db_cpu_before is not None and db_cpu_after is not None
                else None
            )
            out.append(
                {
                    "endpoint": endpoint.name,
                    "queries": (queries_after - queries_before) / requests,
                    "db_round_trips": (after[1] - before[1]) / requests if scaleout else None,
                    "cache_calls": (after[2] - before[2]) / requests,
                    "cpu_ms": cpu,
                    "db_cpu_ms": db_cpu,
                    "wall_ms": statistics.median(walls),
                }
            )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pet-id", type=int, required=True)
    parser.add_argument("--requests", type=int, default=200, help="measured calls (200)")
    parser.add_argument("--tokens-file", type=Path, help="a token of its own for every call")
    args = parser.parse_args(argv)
    tokens: list[str] = []
    if args.tokens_file:
        tokens = args.tokens_file.read_text(encoding="ascii").split()
        needed = 2 * (args.requests + 10)
        if len(tokens) < needed:
            raise SystemExit(f"the pool has {len(tokens)} tokens; {needed} are needed")
    print(json.dumps(count(args.pet_id, args.requests, tokens)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
