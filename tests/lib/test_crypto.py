"""Secrets stored for users are encrypted field by field: round trip, nothing readable in the
column, key rotation, a wrong key refused clearly, and the keys' settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.db import connection, models
from django.test.utils import isolate_apps

from pawfile.cli import main as pawfile_main
from pawfile.lib.crypto import EncryptedTextField, FieldDecryptError, fields_rotate
from tests.config.test_settings import pawfile

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
TABLE = "crypto_test_secret"
SECRET = "apprise://hooks.example.org/T000/B000/very-secret-token"


@pytest.fixture
def secret_model(settings) -> Iterator[type[models.Model]]:
    """A model with an encrypted field, on a table made for the test (no app stores secrets
    yet; the notification and payment apps will)."""
    settings.PAWFILE_FIELD_KEYS = [OLD]
    with isolate_apps("pawfile.ops"):

        class Secret(models.Model):
            id = models.IntegerField(primary_key=True)
            label = models.CharField(max_length=40)
            token = EncryptedTextField(null=True)

            class Meta:
                app_label = "ops"
                db_table = TABLE

            def __str__(self) -> str:
                return self.label

        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, label varchar(40) NOT NULL, "
                "token text NULL)"
            )
        yield Secret


def raw_tokens() -> list[str | None]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {TABLE} ORDER BY id")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def test_a_secret_round_trips_and_the_column_holds_no_plain_text(secret_model) -> None:
    secret_model.objects.create(id=1, label="hook", token=SECRET)
    secret_model.objects.create(id=2, label="empty", token="")
    secret_model.objects.create(id=3, label="none", token=None)

    assert secret_model.objects.get(id=1).token == SECRET
    assert secret_model.objects.get(id=2).token == ""
    assert secret_model.objects.get(id=3).token is None
    stored = raw_tokens()
    assert stored[2] is None
    for token in stored[:2]:
        assert token and token.startswith("gAAAA") and "hooks.example.org" not in token
    assert Fernet(OLD.encode()).decrypt(stored[0].encode()).decode() == SECRET
    assert stored[1] != ""  # even an empty secret is not readable as such


def test_searching_on_the_secret_is_refused(secret_model) -> None:
    with pytest.raises(FieldError, match="Unsupported lookup 'exact'"):
        list(secret_model.objects.filter(token__exact=SECRET))
    secret_model.objects.create(id=1, label="none", token=None)
    assert secret_model.objects.filter(token__isnull=True).count() == 1


def test_rotation_re_encrypts_with_the_first_key_and_old_keys_still_read(
    secret_model, settings
) -> None:
    for n in range(1, 8):
        secret_model.objects.create(id=n, label=f"s{n}", token=f"{SECRET}-{n}")
    before = raw_tokens()
    settings.PAWFILE_FIELD_KEYS = [NEW, OLD]
    assert secret_model.objects.get(id=3).token == f"{SECRET}-3"  # the old key still decrypts

    done = fields_rotate(model_list=[secret_model], batch=3)

    assert done == {"ops.Secret.token": 7}
    after = raw_tokens()
    assert all(a != b for a, b in zip(after, before, strict=True))
    for n, token in enumerate(after, start=1):
        assert Fernet(NEW.encode()).decrypt(token.encode()).decode() == f"{SECRET}-{n}"
    settings.PAWFILE_FIELD_KEYS = [NEW]  # the old key removed
    assert [s.token for s in secret_model.objects.order_by("id")][-1] == f"{SECRET}-7"


def test_a_wrong_key_is_refused_with_a_message(secret_model, settings) -> None:
    secret_model.objects.create(id=1, label="hook", token=SECRET)
    settings.PAWFILE_FIELD_KEYS = [NEW]

    with pytest.raises(FieldDecryptError, match=r"Cannot decrypt ops\.Secret\.token: none of"):
        secret_model.objects.get(id=1)
    with pytest.raises(FieldDecryptError, match="row 1: none of the keys"):
        fields_rotate(model_list=[secret_model])


def test_rotate_keys_command(capsys) -> None:
    assert pawfile_main(["rotate-keys"]) == 0
    assert "with the first key" in capsys.readouterr().out


def test_keys_are_generated_outside_production_and_bad_ones_refused(tmp_path: Path) -> None:
    assert pawfile(["check"], {}, tmp_path).returncode == 0
    key_file = tmp_path / "data" / "field_keys"
    Fernet(key_file.read_text().strip().encode())  # a real key
    assert oct(key_file.stat().st_mode)[-3:] == "600"

    bad = pawfile(["check"], {"PAWFILE_FIELD_KEYS": f"{NEW},not-a-key"}, tmp_path)
    assert bad.returncode == 2
    assert "PAWFILE_FIELD_KEYS: key 2 is not a Fernet key" in bad.stderr
    production = {
        "PAWFILE_ENV": "production",
        "PAWFILE_BASE_URL": "https://pets.example.org",
        "PAWFILE_SECRET_KEY": "k" * 20 + "-Zq8v" * 8,
    }
    missing = pawfile(["check"], production, tmp_path)
    assert missing.returncode == 2
    assert "PAWFILE_FIELD_KEYS (or PAWFILE_FIELD_KEYS_FILE) is required in production" in (
        missing.stderr
    )
