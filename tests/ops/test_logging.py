"""Logs: one JSON object per line, with the request id inside a request."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from pawfile.ops.logging import dictconfig, formatter, log_context_clear, loggable_path

pytestmark = pytest.mark.django_db


@contextmanager
def json_lines(name: str, level: int = logging.INFO) -> Iterator[list[dict]]:
    """Lines the JSON formatter writes for logger ``name`` while the block runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    logger = logging.getLogger(name)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def test_access_line_is_json_with_the_request_id(client) -> None:
    with json_lines("pawfile.request") as lines:
        client.get("/invitations/abc/", HTTP_X_REQUEST_ID="req-42")

    (line,) = lines
    assert line["event"] == "request"
    assert line["request_id"] == "req-42"
    assert line["logger"] == "pawfile.request"
    assert line["level"] == "info"
    assert line["method"] == "GET"
    assert line["path"] == "/invitations/abc/"
    assert line["route"] == "invitations/<str:token>/"
    assert isinstance(line["status"], int)
    assert line["duration_ms"] >= 0
    assert "user_id" not in line
    assert line["timestamp"].endswith("Z")


def test_access_line_names_the_signed_in_user(cast) -> None:
    client = cast.client_for("alice")

    with json_lines("pawfile.request") as lines:
        client.get("/home/")

    assert lines[-1]["user_id"] == cast.alice.pk


def test_secret_path_segments_are_redacted(client) -> None:
    token = "Zx81kLm0pQr7sTu2vWx9yZa4"
    with json_lines("pawfile.request") as lines:
        client.get(f"/invitations/{token}/")

    assert lines[0]["path"] == "/invitations/<redacted>/"
    assert token not in json.dumps(lines)


def test_django_response_lines_carry_the_request_id_and_no_secret(client) -> None:
    # Django logs 4xx/5xx after the middleware chain has returned.
    token = "Zx81kLm0pQr7sTu2vWx9yZa4"
    with json_lines("django.request") as lines:
        client.get(f"/invitations/{token}/", HTTP_X_REQUEST_ID="gone-1")

    (line,) = lines
    assert line["request_id"] == "gone-1"
    assert line["event"].endswith(": /invitations/<redacted>/")
    assert line["status_code"] >= 400


def test_request_context_is_cleared_after_the_response(client) -> None:
    import structlog

    client.get("/health", HTTP_X_REQUEST_ID="done-1")

    assert structlog.contextvars.get_contextvars() == {}


def test_log_context_clear_unbinds_every_key_of_this_context_only() -> None:
    """What ``structlog.contextvars.clear_contextvars`` does: every key bound here is gone
    (the request's and any other), a key bound in another thread's context is kept."""
    import contextvars

    import structlog

    structlog.contextvars.bind_contextvars(request_id="r-1", method="GET", extra_key=3)
    elsewhere = contextvars.copy_context()

    log_context_clear()

    assert structlog.contextvars.get_contextvars() == {}
    assert elsewhere.run(structlog.contextvars.get_contextvars) == {
        "request_id": "r-1", "method": "GET", "extra_key": 3,
    }  # fmt: skip
    structlog.contextvars.bind_contextvars(request_id="r-2")
    assert structlog.contextvars.get_contextvars() == {"request_id": "r-2"}
    log_context_clear()


def test_loggable_path_keeps_ordinary_paths() -> None:
    assert loggable_path("/households/12/members/3/role/") == "/households/12/members/3/role/"
    uuid_path = "/pets/0b8f5a0e-8a53-4d55-9a3f-2f1f5b1c9d10/"
    assert loggable_path(uuid_path) == uuid_path
    assert loggable_path("/accounts/password/reset/") == "/accounts/password/reset/"


def test_probes_log_at_debug_only(client) -> None:
    with json_lines("pawfile.request") as lines:
        client.get("/health")
        client.get("/metrics")
    assert lines == []

    with json_lines("pawfile.request", logging.DEBUG) as lines:
        client.get("/health")
    assert [line["level"] for line in lines] == ["debug"]


def test_standard_library_lines_in_a_request_carry_the_request_id(client, monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("cache host unreachable")

    monkeypatch.setattr(caches["default"], "set", broken)

    with json_lines("pawfile.ops.health") as lines:
        client.get("/health", HTTP_X_REQUEST_ID="probe-1")

    (line,) = lines
    assert line["request_id"] == "probe-1"
    assert line["level"] == "warning"
    assert line["logger"] == "pawfile.ops.health"
    assert "cache" in line["event"]
    assert "ConnectionError: cache host unreachable" in line["exception"]


def test_caplog_still_sees_records(client, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="pawfile.request"):
        client.get("/invitations/abc/", HTTP_X_REQUEST_ID="cap-1")

    events = [r.msg for r in caplog.records if r.name == "pawfile.request"]
    assert events
    assert events[0]["request_id"] == "cap-1"


def test_noisy_loggers_never_log_below_the_configured_level() -> None:
    assert dictconfig({"level": "INFO", "format": "json"})["loggers"]["django.request"] == {
        "handlers": [],
        "propagate": True,
        "level": "WARNING",
    }
    loggers = dictconfig({"level": "ERROR", "format": "json"})["loggers"]
    assert loggers["django.request"]["level"] == "ERROR"
    assert loggers["granian.access"]["level"] == "ERROR"


def test_unknown_format_or_level_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured):
        dictconfig({"level": "INFO", "format": "xml"})
    with pytest.raises(ImproperlyConfigured):
        dictconfig({"level": "LOUD", "format": "json"})


SCRIPT = textwrap.dedent(
    """
    import logging

    import django
    import structlog

    django.setup()
    structlog.contextvars.bind_contextvars(request_id="rid-1")
    logging.getLogger("django.request").warning("Not Found: /x")
    logging.getLogger("_granian").warning("from the server")
    logging.getLogger("django.db.backends").info("a query, too chatty")
    structlog.stdlib.get_logger("pawfile.test").info("structured", answer=42)
    try:
        1 / 0
    except ZeroDivisionError:
        logging.getLogger("huey").exception("task failed")
    print("stdout stays clean")
    """
)


def test_configure_writes_json_lines_to_stderr(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pawfile.config.settings",
        "PAWFILE_ENV": "test",
        "PAWFILE_DATA_DIR": str(tmp_path),
        "PAWFILE_LOG_FORMAT": "json",
        "PAWFILE_LOG_LEVEL": "INFO",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )

    assert result.stdout == "stdout stays clean\n"
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    by_event = {line["event"]: line for line in lines}
    assert set(by_event) == {"Not Found: /x", "from the server", "structured", "task failed"}
    for line in lines:
        assert line["request_id"] == "rid-1"
        assert line["timestamp"].endswith("Z")
        assert {"level", "logger", "event"} <= set(line)
    assert by_event["Not Found: /x"]["logger"] == "django.request"
    assert by_event["from the server"]["logger"] == "_granian"
    assert by_event["structured"]["answer"] == 42
    assert by_event["structured"]["level"] == "info"
    assert by_event["task failed"]["level"] == "error"
    assert "ZeroDivisionError" in by_event["task failed"]["exception"]
