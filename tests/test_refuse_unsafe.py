"""``pawfile web`` refuses a set-up whose processes or nodes would not act as one site, with
a message that says why and what to do (exit 2, before it listens), unless told otherwise by
``--allow-unshared`` / ``PAWFILE_ALLOW_UNSHARED=1``, which ``pawfile check --deploy`` then
reports (``pawfile.W004``).

What counts as unsafe (``pawfile.ops.checks.unshared_reasons``): several worker processes
without Redis (an in-process cache each); PostgreSQL (scale-out: other nodes may serve the
same site) without Redis, or with files on the local disk.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pawfile.ops.checks import unshared_reasons
from tests.cluster import free_port, wait_until_up
from tests.config.test_settings import STRONG_KEY, pawfile

# Never connected to: the refusal comes before any connection.
POSTGRES = "postgres://pawfile@127.0.0.1:9/pawfile"
REDIS = "redis://127.0.0.1:9/0"
S3 = {"PAWFILE_STORAGE": "s3", "S3_BUCKET": "pets", "S3_ENDPOINT_URL": "http://127.0.0.1:9"}


@pytest.mark.parametrize(
    ("args", "env", "reasons"),
    [
        (["--workers", "2"], {}, ["2 worker processes without REDIS_URL"]),
        ([], {"DATABASE_URL": POSTGRES}, ["no REDIS_URL", "local file storage"]),
        ([], {"DATABASE_URL": POSTGRES, "REDIS_URL": REDIS}, ["local file storage"]),
        ([], {"DATABASE_URL": POSTGRES, **S3}, ["no REDIS_URL"]),
        (["--workers", "3"], {"DATABASE_URL": POSTGRES, "REDIS_URL": REDIS}, ["local file"]),
    ],
    ids=["workers-no-redis", "postgres-alone", "postgres-redis-local", "postgres-s3", "3-workers"],
)
def test_unsafe_scale_out_is_refused_with_the_reason(
    tmp_path: Path, args: list[str], env: dict[str, str], reasons: list[str]
) -> None:
    result = pawfile(["web", "--bind", f"127.0.0.1:{free_port()}", *args], env, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr
    assert "pawfile web refused to start" in message
    assert "scale-out needs REDIS_URL and shared file storage" in message
    for reason in reasons:
        assert reason in message
    assert "--allow-unshared" in message and "Traceback" not in message


def test_one_worker_on_sqlite_is_not_refused(settings, monkeypatch) -> None:
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.sqlite3")
    settings.REDIS_URL = ""
    assert unshared_reasons(1) == []
    assert unshared_reasons(2) != []
    settings.REDIS_URL = REDIS
    assert unshared_reasons(2) == []  # one machine: its disk and database file are shared


def test_postgres_with_redis_and_s3_is_not_refused(settings, monkeypatch) -> None:
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "pawfile.lib.postgres")
    settings.REDIS_URL = REDIS
    settings.PAWFILE_STORAGE = "s3"
    assert unshared_reasons(4) == []
    settings.PAWFILE_STORAGE = "local"
    assert unshared_reasons(1) != []


@pytest.mark.slow
def test_allow_unshared_starts_and_says_so(tmp_path: Path) -> None:
    """With the flag it starts (and still warns about the workers), on SQLite."""
    port = free_port()
    env_file = tmp_path / "web.log"
    base = pawfile(["migrate"], {}, tmp_path)
    assert base.returncode == 0, base.stderr
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PAWFILE_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    env |= {"PAWFILE_DATA_DIR": str(tmp_path / "data"), "PAWFILE_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "pawfile.cli", "web", "--bind", f"127.0.0.1:{port}"]
    with env_file.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--workers", "2", "--threads", "1", "--allow-unshared"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, timeout=90)
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    output = env_file.read_text()
    assert "refused" not in output
    assert "runs 2 workers without Redis" in output  # the W003 warning, at start


def test_check_deploy_reports_the_allowance(tmp_path: Path) -> None:
    prod = {
        "PAWFILE_SECRET_KEY": STRONG_KEY,
        "PAWFILE_BASE_URL": "https://pets.example.org",
        "PAWFILE_FIELD_KEYS": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
        "EMAIL_URL": "smtp://mail.example.org:25",
        "PAWFILE_TRUSTED_PROXIES": "127.0.0.1",
        "DATABASE_URL": POSTGRES,
    }
    quiet = pawfile(["check", "--deploy"], prod, tmp_path)
    assert quiet.returncode == 0 and "pawfile.W004" not in quiet.stderr, quiet.stderr
    allowed = pawfile(["check", "--deploy"], {**prod, "PAWFILE_ALLOW_UNSHARED": "1"}, tmp_path)
    assert allowed.returncode == 0, allowed.stderr  # a warning, not an error
    assert "pawfile.W004" in allowed.stderr
    assert "PAWFILE_ALLOW_UNSHARED is set" in allowed.stderr
    assert "local file storage" in allowed.stderr and "no REDIS_URL" in allowed.stderr
