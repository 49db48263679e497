"""``pawfile check --deploy``: every production problem at once (``pawfile/ops/checks.py``)."""

from __future__ import annotations

from pathlib import Path

from django.core.checks import run_checks

from tests.config.test_settings import STRONG_KEY, pawfile

PROD = {
    "PAWFILE_SECRET_KEY": STRONG_KEY,
    "PAWFILE_BASE_URL": "https://pets.example.org",
    "PAWFILE_FIELD_KEYS": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",  # a Fernet key
}


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    result = pawfile(["check", "--deploy"], PROD, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # an error: mail would go nowhere
    assert "pawfile.E001" in output and "EMAIL_URL" in output
    assert "pawfile.W001" in output  # SQLite
    assert "pawfile.W002" in output and "PAWFILE_TRUSTED_PROXIES" in output  # https on loopback
    assert "pawfile.W003" not in output  # one web worker


def test_warnings_alone_do_not_fail(tmp_path: Path) -> None:
    env = {**PROD, "EMAIL_URL": "smtp://mail.example.org:25"}
    result = pawfile(["check", "--deploy"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pawfile.W001" in result.stderr and "pawfile.E001" not in result.stderr


def test_the_proxy_check_follows_the_setting_and_the_bind(tmp_path: Path) -> None:
    env = {**PROD, "EMAIL_URL": "smtp://mail.example.org:25"}
    trusted = pawfile(
        ["check", "--deploy"], {**env, "PAWFILE_TRUSTED_PROXIES": "127.0.0.1"}, tmp_path
    )
    assert "pawfile.W002" not in trusted.stderr
    public = pawfile(["check", "--deploy"], {**env, "PAWFILE_BIND": "0.0.0.0:443"}, tmp_path)
    assert "pawfile.W002" not in public.stderr  # not bound to loopback: no proxy assumed
    behind = {**env, "PAWFILE_BIND": "0.0.0.0:8000", "PAWFILE_BEHIND_PROXY": "true"}
    told = pawfile(["check", "--deploy"], behind, tmp_path)
    assert "pawfile.W002" in told.stderr


def test_several_web_workers_without_redis(tmp_path: Path) -> None:
    env = {**PROD, "EMAIL_URL": "smtp://mail.example.org:25", "PAWFILE_WEB_WORKERS": "3"}
    result = pawfile(["check", "--deploy"], env, tmp_path)
    assert "pawfile.W003" in result.stderr and "3 workers" in result.stderr
    with_redis = pawfile(
        ["check", "--deploy"], {**env, "REDIS_URL": "redis://127.0.0.1:6379/9"}, tmp_path
    )
    assert "pawfile.W003" not in with_redis.stderr


def test_a_clean_production_configuration(tmp_path: Path) -> None:
    env = {
        **PROD,
        "EMAIL_URL": "smtp://mail.example.org:25",
        "DATABASE_URL": "postgres://pawfile@db.example.org/pawfile",
        "PAWFILE_TRUSTED_PROXIES": "127.0.0.1",
    }
    result = pawfile(["check", "--deploy"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_outside_production_the_checks_say_nothing(settings) -> None:
    settings.PAWFILE_WEB_WORKERS = 1
    ids = {issue.id for issue in run_checks(include_deployment_checks=True)}
    assert not {"pawfile.E001", "pawfile.W001"} & ids
