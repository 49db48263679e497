"""Secrets stored for users (provider tokens, notification URLs, webhook secrets), encrypted
field by field.

``EncryptedTextField`` keeps a Fernet token (AES-128-CBC with HMAC-SHA256, from
``cryptography``) in the column, never the text: a copy of the database alone (a dump, a
replica, a stolen backup without the key) gives nothing away. The keys are
``settings.PAWFILE_FIELD_KEYS``: the first encrypts, every one decrypts, so keys rotate
without downtime: put a new key first, run ``pawfile rotate-keys`` (``fields_rotate``), then
remove the old key.

Contract of the field:
- Python side: text (or ``None``); the column: ``None`` or a token, even for ``""``.
- Tokens differ at each save (random IV), so the field cannot be searched or filtered on
  (only ``isnull``); a lookup on it is refused by Django (``FieldError``).
- A value none of the keys opens raises ``FieldDecryptError`` when the row is read, naming the
  model and field, never returning the token as if it were the secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.signals import setting_changed
from django.db import connections, models, router, transaction
from django.db.models import Lookup


class FieldDecryptError(Exception):
    """A stored value that none of ``PAWFILE_FIELD_KEYS`` opens (wrong or removed key)."""


@cache
def _keyring() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.PAWFILE_FIELD_KEYS])


def _keys_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "PAWFILE_FIELD_KEYS":
        _keyring.cache_clear()


setting_changed.connect(_keys_changed, dispatch_uid="pawfile.lib.crypto.keys_changed")


def secret_encrypt(text: str) -> str:
    """``text`` encrypted with the first key, as ASCII text for a column."""
    return _keyring().encrypt(text.encode("utf-8")).decode("ascii")


def secret_decrypt(token: str, *, what: str = "a stored secret") -> str:
    """The text in ``token``; ``FieldDecryptError`` (naming ``what``) if no key opens it."""
    try:
        return _keyring().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise FieldDecryptError(
            f"Cannot decrypt {what}: none of the keys in PAWFILE_FIELD_KEYS opens it. Was it "
            "written with a key that has since been removed, or is this another site's data?"
        ) from None


class EncryptedTextField(models.TextField):
    """A text column whose content is encrypted with ``PAWFILE_FIELD_KEYS`` (see the module)."""

    description = "Text encrypted at rest"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return secret_decrypt(value, what=self._label())

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return secret_encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> type[Lookup] | None:
        # A token changes at every save: comparing with one would silently match nothing.
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def _label(self) -> str:
        model = getattr(self, "model", None)
        return f"{model._meta.label}.{self.name}" if model is not None else self.name


def encrypted_fields(
    model_list: Iterable[type[models.Model]] | None = None,
) -> list[EncryptedTextField]:
    """Every ``EncryptedTextField`` of ``model_list`` (default: every installed model)."""
    chosen = apps.get_models() if model_list is None else model_list
    return [
        field
        for model in chosen
        for field in model._meta.local_fields
        if isinstance(field, EncryptedTextField)
    ]


def fields_rotate(
    *, model_list: Iterable[type[models.Model]] | None = None, batch: int = 500
) -> dict[str, int]:
    """Re-encrypt every stored value of every encrypted field with the first key.

    Works on the raw column (the text is never handed to Python code outside this loop),
    ``batch`` rows per transaction, so it can run while the site serves; a value written
    meanwhile is already under the first key and is left alone. Returns
    ``{"app.Model.field": values}``.
    Raises ``FieldDecryptError`` for a value no key opens (earlier batches stay rotated;
    running it again is safe).
    """
    keyring = _keyring()
    done: dict[str, int] = {}
    for field in encrypted_fields(model_list):
        model = field.model
        connection = connections[router.db_for_write(model)]
        quote = connection.ops.quote_name
        table, column = quote(model._meta.db_table), quote(str(field.column))
        pk = quote(str(model._meta.pk.column))
        label = f"{model._meta.label}.{field.name}"
        done[label] = 0
        last: Any = None
        while True:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                where = f"WHERE {column} IS NOT NULL" + (
                    f" AND {pk} > %s" if last is not None else ""
                )
                cursor.execute(
                    f"SELECT {pk}, {column} FROM {table} {where} ORDER BY {pk} LIMIT %s",  # noqa: S608
                    [last, batch] if last is not None else [batch],
                )
                rows = cursor.fetchall()
                for row_pk, token in rows:
                    try:
                        fresh = keyring.rotate(token.encode("ascii")).decode("ascii")
                    except InvalidToken:
                        raise FieldDecryptError(
                            f"Cannot decrypt {label} of row {row_pk}: none of the keys in "
                            "PAWFILE_FIELD_KEYS opens it; nothing after it was rotated."
                        ) from None
                    # only if unchanged since read: a value saved meanwhile is already fresh
                    cursor.execute(
                        f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s",  # noqa: S608
                        [fresh, row_pk, token],
                    )
            done[label] += len(rows)
            if len(rows) < batch:
                break
            last = rows[-1][0]
    return done
