"""Scale-out mode for the benchmarks: a PostgreSQL database and Redis keys of the bench's own.

``scaleout_services`` creates a fresh database ``pawfile_bench_<pid>`` on the PostgreSQL
server of ``--postgres`` (by default the local one), and gives the runs a Redis cache prefix
and queue name of the same name, so nothing another process keeps there is read, written or
flushed. On exit (errors and Ctrl-C included) the database is dropped and every Redis key
holding that name is deleted; nothing else is touched.

Loaded by ``bench/api.py``; not part of the product.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


class ServiceError(RuntimeError):
    """PostgreSQL or Redis could not be reached or prepared; the message says which."""


def bench_name() -> str:
    """The database name, cache prefix and queue name of this benchmark run."""
    return f"pawfile_bench_{os.getpid()}"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _admin_connection(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    try:
        return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)
    except psycopg.Error as exc:
        raise ServiceError(f"PostgreSQL at {urlsplit(url).hostname} did not answer: {exc}") from exc


def _redis_client(url: str):  # type: ignore[no-untyped-def]
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ServiceError(f"Redis at {urlsplit(url).hostname} did not answer: {exc}") from exc
    return client


def redis_keys_delete(url: str, name: str) -> int:
    """Delete every key holding ``name`` (cache entries, the queue); how many were deleted."""
    client = _redis_client(url)
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"*{name}*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += int(client.delete(*batch))
            batch.clear()
    if batch:
        deleted += int(client.delete(*batch))
    return deleted


@contextlib.contextmanager
def scaleout_services(postgres_url: str, redis_url: str) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database and a Redis prefix for one run; yields the environment
    (``DATABASE_URL``, ``REDIS_URL``, cache prefix, queue name) of the scale-out settings.

    Raises ``ServiceError`` when PostgreSQL or Redis does not answer."""
    name = bench_name()
    _redis_client(redis_url).close()
    with _admin_connection(postgres_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "DATABASE_URL": _with_database(postgres_url, name),
            "REDIS_URL": redis_url,
            "PAWFILE_CACHE_PREFIX": name,
            "PAWFILE_QUEUE_NAME": name,
            # one machine, one data dir: `pawfile web` on PostgreSQL with local files is
            # refused unless allowed (pawfile/cli/)
            "PAWFILE_ALLOW_UNSHARED": "1",
        }
    finally:
        with contextlib.suppress(ServiceError), _admin_connection(postgres_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with contextlib.suppress(ServiceError):
            redis_keys_delete(redis_url, name)


def mode_services(
    label: str, postgres_url: str, redis_url: str
) -> contextlib.AbstractContextManager[dict[str, str]]:
    """The environment a bench run of mode ``label`` adds: ``scaleout_services`` for
    "scale-out" (or "scaleout"), nothing (an empty dict) for embedded mode."""
    if label in ("scale-out", "scaleout"):
        return scaleout_services(postgres_url, redis_url)
    return contextlib.nullcontext({})
