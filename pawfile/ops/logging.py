"""Logging: one JSON object per line on stderr (or readable lines in development).

Django calls :func:`configure` at start-up (``LOGGING_CONFIG``) with ``settings.LOGGING``,
``{"level": "INFO", "format": "json" | "console"}``. Every record, whether it comes from
*structlog* (``structlog.stdlib.get_logger()``) or the standard library (Django, granian,
huey, ``logging.getLogger(__name__)``), goes through one standard-library handler whose
formatter renders it. A JSON line carries at least ``timestamp`` (ISO 8601, UTC), ``level``,
``logger`` and ``event``; inside a request also ``request_id``, ``method`` and ``path`` (bound
by :class:`pawfile.ops.middleware.RequestIdMiddleware`), and ``exception`` when there is one.

Only standard-library handlers are used and existing loggers are left enabled, so pytest's
``caplog`` keeps working.
"""

from __future__ import annotations

import logging
import logging.config
import re
import sys
from typing import Any

import structlog
from django.core.exceptions import ImproperlyConfigured

FORMATS = ("json", "console")

# Loggers that are chatty at INFO/DEBUG and add nothing to the request line we write
# ourselves (granian's access log, runserver's) or only matter when debugging.
QUIET_LOGGERS = (
    "django.db.backends",
    "django.request",
    "django.server",
    "django.template",
    "django.utils.autoreload",
    "granian.access",
    "asyncio",
    "urllib3",
    "fido2",
    "multipart",
)

# Loggers that other code configured with handlers of their own (Django's DEFAULT_LOGGING,
# granian's console handler on stdout); they are emptied so records reach the root handler.
REROUTED_LOGGERS = ("django", "django.server", "_granian", "granian.access", "huey")

# Loggers whose messages quote the request path ("Not Found: /invitations/<token>/").
PATH_LOGGERS = ("django.request", "django.security", "django.server")

# A path segment of 20+ characters mixing letters and digits is taken for a secret
# (invitation tokens, password-reset and email-confirmation keys): logs must not carry it.
_SECRET_SEGMENT_RE = re.compile(r"(?<=/)(?=[^/\s]*[0-9])(?=[^/\s]*[A-Za-z])[^/\s?#]{20,}")
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def log_context_clear() -> None:
    """Unbind every key bound with ``structlog.contextvars.bind_contextvars`` in this
    context: what ``structlog.contextvars.clear_contextvars`` does, which runs twice per
    request (``RequestIdMiddleware`` and ``request_finished``).

    structlog's version walks every context variable of the thread to find its own by name:
    some 110 of them in a request thread (most are asgiref's), about 22 µs a call. This
    sets only structlog's own (it keeps them by key, ``_CONTEXT_VARS``), about 1.5 µs.
    Should a structlog release stop keeping that table, structlog's own function is used."""
    variables = getattr(structlog.contextvars, "_CONTEXT_VARS", None)
    if not isinstance(variables, dict):
        structlog.contextvars.clear_contextvars()
        return
    for variable in list(variables.values()):
        variable.set(Ellipsis)  # structlog's own mark for "unbound"


def _redact(match: re.Match[str]) -> str:
    segment = match.group(0)
    return segment if _UUID_RE.fullmatch(segment) else "<redacted>"


def loggable_path(path: str) -> str:
    """``path`` with secret-looking segments replaced by ``<redacted>``; UUIDs are kept."""
    if len(path) < 21:
        return path
    return _SECRET_SEGMENT_RE.sub(_redact, path)


def _redact_paths(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    record = event_dict.get("_record")
    event = event_dict.get("event")
    if record is not None and isinstance(event, str) and record.name.startswith(PATH_LOGGERS):
        event_dict["event"] = loggable_path(event)
    return event_dict


_TIMESTAMPER = structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp")

# Run on records that did not come from structlog, before the renderer.
_FOREIGN_PRE_CHAIN: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(allow=("status_code",)),
    _redact_paths,
    _TIMESTAMPER,
]


def _level(name: object) -> str:
    level = str(name or "INFO").upper()
    if level not in logging.getLevelNamesMapping():
        raise ImproperlyConfigured(f"Unknown log level {name!r} (PAWFILE_LOG_LEVEL)")
    return level


def _kind(name: object) -> str:
    kind = str(name or "console").lower()
    if kind not in FORMATS:
        raise ImproperlyConfigured(f"PAWFILE_LOG_FORMAT must be one of {', '.join(FORMATS)}")
    return kind


def formatter(kind: str = "json") -> structlog.stdlib.ProcessorFormatter:
    """The formatter for a standard-library handler: ``json`` or ``console``."""
    renderer: list[Any]
    if _kind(kind) == "json":
        renderer = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        renderer = [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    return structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        foreign_pre_chain=_FOREIGN_PRE_CHAIN,
    )


def dictconfig(config: dict[str, Any]) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` dictionary for ``settings.LOGGING``-shaped ``config``.

    Usable on its own where Django is not set up yet, e.g. as granian's ``log_dictconfig`` so
    the server's own start-up lines come out in the same format.
    """
    level = _level(config.get("level"))
    kind = _kind(config.get("format"))
    loggers: dict[str, dict[str, Any]] = {
        name: {"handlers": [], "propagate": True, "level": "NOTSET"} for name in REROUTED_LOGGERS
    }
    # Debugging one of them stays possible with PAWFILE_LOG_LEVEL=DEBUG. Never below the
    # root level either: a logger's own level, not the root's, filters what reaches the handler.
    levels = logging.getLevelNamesMapping()
    quiet = level if level == "DEBUG" or levels[level] > logging.WARNING else "WARNING"
    for name in QUIET_LOGGERS:
        loggers.setdefault(name, {"handlers": [], "propagate": True})
        loggers[name]["level"] = quiet
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"pawfile": {"()": "pawfile.ops.logging.formatter", "kind": kind}},
        "handlers": {
            "pawfile": {
                "class": "logging.StreamHandler",
                "formatter": "pawfile",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["pawfile"], "level": level},
        "loggers": loggers,
    }


def configure(config: dict[str, Any]) -> None:
    """Configure the standard library and structlog from ``settings.LOGGING``.

    ``config`` is ``{"level": "INFO", "format": "json" | "console"}``; an unknown level or
    format raises ``ImproperlyConfigured``.
    """
    logging.config.dictConfig(dictconfig(config))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.PositionalArgumentsFormatter(),
            _TIMESTAMPER,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
