"""System checks for running Pawfile in production (``pawfile check --deploy``).

Django's check framework runs every check and reports every problem at once; these add
Pawfile's own to Django's ``--deploy`` checks (each is registered with ``deploy=True``, so a
plain ``pawfile check`` and the start of a server skip them, except the worker check, which
``pawfile web`` runs too):

* ``pawfile.E001`` (error): production with mail going to the console (no ``EMAIL_URL``);
  nobody would get a confirmation, reset or invitation mail.
* ``pawfile.W001`` (warning): production on SQLite. Fine for one machine and a few
  households (back it up); it cannot be shared by several machines.
* ``pawfile.W002`` (warning): behind a reverse proxy with no ``PAWFILE_TRUSTED_PROXIES``:
  every client would have the proxy's address (rate limits, admin allowlist, logs) and https
  would not be seen. Behind a proxy is ``PAWFILE_BEHIND_PROXY``; unset, it is true when
  the base URL is https while ``PAWFILE_BIND`` is a loopback address (the proxy terminates
  TLS and forwards to the local port).
* ``pawfile.W003`` (warning): ``pawfile web`` with more than one worker (``--workers`` or
  ``PAWFILE_WEB_WORKERS``) and no ``REDIS_URL``: each worker keeps its own cache, so rate
  limits and cached pages are counted per worker.
* ``pawfile.W004`` (warning): ``PAWFILE_ALLOW_UNSHARED`` is set, so ``pawfile web`` starts
  even where ``unshared_reasons`` finds something the processes or nodes would not share
  (without it, ``pawfile web`` refuses to start: ``pawfile/cli/__init__.py``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

CONSOLE_MAIL = "django.core.mail.backends.console.EmailBackend"
TAG_WORKERS = "pawfile_workers"
SQLITE_ENGINES = {"django.db.backends.sqlite3", "pawfile.lib.sqlcipher"}


@register("pawfile", deploy=True)
def mail_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """``pawfile.E001``: production mail must leave the machine."""
    if settings.PRODUCTION and settings.EMAIL_BACKEND == CONSOLE_MAIL:
        return [
            Error(
                "Mail goes to the console: no confirmation, password reset or invitation "
                "mail would reach anyone.",
                hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587.",
                id="pawfile.E001",
            )
        ]
    return []


@register(Tags.database, "pawfile", deploy=True)
def database_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """``pawfile.W001``: SQLite in production is allowed, with its limits said."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if settings.PRODUCTION and engine in SQLITE_ENGINES:
        return [
            Warning(
                "The database is SQLite: right for one machine and a few households, "
                "not for several web machines.",
                hint="Back up PAWFILE_DATA_DIR; for more, set DATABASE_URL to PostgreSQL.",
                id="pawfile.W001",
            )
        ]
    return []


@register(Tags.security, "pawfile", deploy=True)
def proxy_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """``pawfile.W002``: behind a proxy, the proxy must be trusted to name the client."""
    if settings.PAWFILE_BEHIND_PROXY and not settings.PAWFILE_TRUSTED_PROXIES:
        return [
            Warning(
                "A reverse proxy stands in front (PAWFILE_BEHIND_PROXY) but "
                "PAWFILE_TRUSTED_PROXIES is empty: every request would seem to come from the "
                "proxy (rate limits, admin allowlist, logs) and https would not be seen.",
                hint="Set PAWFILE_TRUSTED_PROXIES to the proxy's address, e.g. 127.0.0.1; "
                "or PAWFILE_BEHIND_PROXY=false if none does.",
                id="pawfile.W002",
            )
        ]
    return []


def workers_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """``pawfile.W003``: several web workers share nothing without Redis."""
    if settings.PAWFILE_WEB_WORKERS > 1 and not settings.REDIS_URL:
        return [
            Warning(
                f"pawfile web runs {settings.PAWFILE_WEB_WORKERS} workers without Redis: each "
                "keeps its own cache, so rate limits and cached pages are counted per worker.",
                hint="Set REDIS_URL, or run one worker (PAWFILE_WEB_WORKERS=1).",
                id="pawfile.W003",
            )
        ]
    return []


register(workers_check, TAG_WORKERS, deploy=True)


def unshared_reasons(workers: int) -> list[str]:
    """Why ``pawfile web`` with ``workers`` processes (or as one of several nodes) would not
    act as one site; empty when it would.

    Several nodes are assumed on PostgreSQL: that is scale-out mode, and nothing tells one
    node of the others. Each needs Redis (else every node keeps its own cache, rate limits
    and task queue) and shared file storage (else a photo uploaded through one node is
    missing on the others). Several workers of one command share the machine's disk and
    database file, but not an in-process cache: they need Redis.
    """
    reasons = []
    on_postgres = settings.DATABASES["default"]["ENGINE"] not in SQLITE_ENGINES
    if not settings.REDIS_URL and (workers > 1 or on_postgres):
        reasons.append(
            f"{workers} worker processes without REDIS_URL: each would keep its own cache, "
            "so sign-in limits and cached pages would be counted per process"
            if workers > 1 and not on_postgres
            else "no REDIS_URL: each node would keep its own cache, rate limits and task queue"
        )
    if on_postgres and settings.PAWFILE_STORAGE != "s3":
        reasons.append(
            "local file storage (PAWFILE_STORAGE=local): a photo or attachment uploaded "
            "through one node would be missing on the others"
        )
    return reasons


@register("pawfile", deploy=True)
def unshared_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """``pawfile.W004``: unsafe scale-out explicitly allowed."""
    if not settings.PAWFILE_ALLOW_UNSHARED:
        return []
    reasons = unshared_reasons(settings.PAWFILE_WEB_WORKERS)
    detail = ("; ".join(reasons) + ".") if reasons else "nothing is unshared at present."
    return [
        Warning(
            "PAWFILE_ALLOW_UNSHARED is set: pawfile web starts even when its processes or "
            f"nodes share no cache or files ({detail})",
            hint="Run scale-out with REDIS_URL and PAWFILE_STORAGE=s3, then remove "
            "PAWFILE_ALLOW_UNSHARED; keep it only for one node whose data dir every node "
            "mounts.",
            id="pawfile.W004",
        )
    ]
