"""Removing stored files (media) once the rows that named them are gone."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import transaction


def files_delete(names: Iterable[str]) -> None:
    """Delete these stored files now; a name already gone is not an error."""
    for name in names:
        if name:
            default_storage.delete(name)


def files_delete_on_commit(names: Iterable[str]) -> None:
    """Delete these stored files once the current transaction commits (at once outside one).

    A rolled-back deletion keeps its files, so no row is ever left pointing at nothing.
    """
    names = list(names)
    transaction.on_commit(lambda: files_delete(names))
