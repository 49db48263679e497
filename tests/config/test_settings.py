"""Settings refuse bad values, and production refuses to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from pawfile.lib.env import Env, dotenv_load
from pawfile.lib.mailurl import email_settings_from_url

STRONG_KEY = "k" * 20 + "-Zq8v" * 8


def pawfile(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the ``pawfile`` CLI in a clean environment (settings are read at import)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PAWFILE_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
    }
    base.pop("PYTEST_XDIST_WORKER", None)
    base.update({"PAWFILE_DATA_DIR": str(cwd / "data")}, **env)
    return subprocess.run(
        [sys.executable, "-m", "pawfile.cli", *args],
        env=base,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_env_bool_refuses_typos() -> None:
    env = Env({"A": "true", "B": "off", "C": "ture"})
    assert env.bool("A") is True and env.bool("B") is False and env.bool("MISSING", True) is True
    with pytest.raises(ImproperlyConfigured, match="C must be true or false"):
        env.bool("C")


def test_env_int_list_url_secret(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    env = Env(
        {
            "N": "12",
            "BAD": "twelve",
            "L": "a, b,,c",
            "U": "https://x.org/",
            "S_FILE": str(secret_file),
        }
    )
    assert env.int("N", 1) == 12
    with pytest.raises(ImproperlyConfigured, match="BAD must be a whole number"):
        env.int("BAD", 1)
    with pytest.raises(ImproperlyConfigured, match="at least 20"):
        env.int("N", 1, minimum=20)
    assert env.list("L") == ["a", "b", "c"]
    assert env.url("U") == "https://x.org"
    with pytest.raises(ImproperlyConfigured, match="must be a URL"):
        Env({"U": "not a url"}).url("U")
    assert env.secret("S") == "from-a-file"
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        Env({"S_FILE": str(tmp_path / "missing")}).secret("S")


def test_dotenv_does_not_override_the_environment(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# comment\nA=from-file\nexport B='quoted value'\n\nC=\"x\"\n")
    target = {"A": "from-env"}
    assert dotenv_load(path, target) == 2
    assert target == {"A": "from-env", "B": "quoted value", "C": "x"}
    path.write_text("not a pair\n")
    with pytest.raises(ImproperlyConfigured, match="expected KEY=value"):
        dotenv_load(path, {})


def test_email_url_forms() -> None:
    smtp = email_settings_from_url("smtp+tls://user%40x.org:p%3Ass@mail.example.org")
    assert smtp["EMAIL_HOST"] == "mail.example.org" and smtp["EMAIL_PORT"] == 587
    assert smtp["EMAIL_HOST_USER"] == "user@x.org" and smtp["EMAIL_HOST_PASSWORD"] == "p:ss"
    assert smtp["EMAIL_USE_TLS"] is True
    assert email_settings_from_url("smtps://mail.example.org")["EMAIL_USE_SSL"] is True
    with pytest.raises(ImproperlyConfigured, match="scheme"):
        email_settings_from_url("http://mail.example.org")


def test_production_refuses_a_missing_or_default_secret_key(tmp_path: Path) -> None:
    prod = {"PAWFILE_ENV": "production", "PAWFILE_BASE_URL": "https://pets.example.org"}
    missing = pawfile(["check"], prod, tmp_path)
    assert missing.returncode == 2
    assert "PAWFILE_SECRET_KEY" in missing.stderr
    default = pawfile(
        ["check"], {**prod, "PAWFILE_SECRET_KEY": "insecure-development-key-change-me"}, tmp_path
    )
    assert default.returncode == 2 and "default" in default.stderr


def test_production_requires_a_base_url(tmp_path: Path) -> None:
    result = pawfile(
        ["check"], {"PAWFILE_ENV": "production", "PAWFILE_SECRET_KEY": STRONG_KEY}, tmp_path
    )
    assert result.returncode == 2
    assert "PAWFILE_BASE_URL" in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    env = {
        "PAWFILE_SECRET_KEY": STRONG_KEY,
        "PAWFILE_BASE_URL": "https://pets.example.org",
        "EMAIL_URL": "smtp://mail.example.org:25",
        "DATABASE_URL": "postgres://pawfile@db.example.org/pawfile",
        "PAWFILE_TRUSTED_PROXIES": "127.0.0.1",
        "PAWFILE_FIELD_KEYS": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",  # a Fernet key
    }
    result = pawfile(["check", "--deploy"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    assert pawfile(["check"], {}, tmp_path).returncode == 0
    key_file = tmp_path / "data" / "secret_key"
    first = key_file.read_text()
    assert len(first) >= 50 and oct(key_file.stat().st_mode)[-3:] == "600"
    assert pawfile(["check"], {}, tmp_path).returncode == 0
    assert key_file.read_text() == first


def test_cli_help_and_version(tmp_path: Path) -> None:
    result = pawfile(["--help"], {}, tmp_path)
    assert result.returncode == 0
    for command in ("serve", "web", "worker", "migrate", "createadmin", "check", "version"):
        assert command in result.stdout
    assert "--scheduler" in pawfile(["worker", "--help"], {}, tmp_path).stdout
    assert pawfile(["version"], {}, tmp_path).stdout.startswith("pawfile ")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["web"], {"PAWFILE_WEB_THREADS": "eight"}, "PAWFILE_WEB_THREADS must be a whole number"),
        (["web"], {"PAWFILE_WEB_WORKERS": "0"}, "PAWFILE_WEB_WORKERS must be at least 1"),
        (["web"], {"PAWFILE_BIND": "localhost"}, "PAWFILE_BIND: expected HOST:PORT"),
        (["web", "--threads", "0"], {}, "--threads: expected a whole number of at least 1"),
        (["worker", "--threads", "-2"], {}, "--threads: expected a whole number of at least 1"),
    ],
)
def test_bad_server_settings_are_named_not_a_traceback(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = pawfile(args, env, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_createadmin_makes_a_superuser_with_a_household(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("a-long-admin-passphrase-9")
    assert pawfile(["migrate"], {}, tmp_path).returncode == 0
    ok = pawfile(
        ["createadmin", "--email", "Root@Example.org", "--password-file", str(password)],
        {},
        tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    again = pawfile(
        ["createadmin", "--email", "root@example.org", "--password-file", str(password)],
        {},
        tmp_path,
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    password.write_text("short")
    weak = pawfile(
        ["createadmin", "--email", "x@example.org", "--password-file", str(password)], {}, tmp_path
    )
    assert weak.returncode == 2 and "too short" in weak.stderr
    bad = pawfile(
        ["createadmin", "--email", "root", "--password-file", str(password)], {}, tmp_path
    )
    assert bad.returncode == 2 and "valid email address" in bad.stderr


SHOW_SETTINGS = (
    "import pytest, django; django.setup(); from django.conf import settings as s; "
    "print(s.HUEY['immediate'], s.PASSWORD_HASHERS[0].rsplit('.', 1)[1], s.EMAIL_BACKEND)"
)


@pytest.mark.parametrize(
    ("module", "shown"),
    [
        ("pawfile.config.settings", ["False", "PBKDF2PasswordHasher", "console"]),
        ("pawfile.config.settings_test", ["True", "MD5PasswordHasher", "locmem"]),
    ],
)
def test_test_behaviour_comes_from_the_settings_module_only(
    tmp_path: Path, module: str, shown: list[str]
) -> None:
    """Importing pytest does not turn the real settings into test settings; the test
    settings module does, whoever imports it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))}
    for name in ("DATABASE_URL", "REDIS_URL", "EMAIL_URL", "PYTEST_XDIST_WORKER"):
        base.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        env={**base, "DJANGO_SETTINGS_MODULE": module, "PAWFILE_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    immediate, hasher, backend = result.stdout.split()
    assert [immediate, hasher] == shown[:2] and shown[2] in backend


def test_a_new_secret_key_file_is_written_once_whole(tmp_path: Path) -> None:
    """Processes starting together with no key file all end up with the first key written."""
    from concurrent.futures import ThreadPoolExecutor

    from pawfile.config.settings import _key_file_create

    path = tmp_path / "data" / "secret_key"

    def create_and_read(_: int) -> str:
        _key_file_create(path)
        return path.read_text(encoding="utf-8")

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(create_and_read, range(32)))
    assert len(keys) == 1 and len(keys.pop()) >= 50
    assert oct(path.stat().st_mode)[-3:] == "600"
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no drafts left
