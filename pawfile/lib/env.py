"""Typed readers for settings that come from the environment.

Every reader takes the variable name and a default, returns a value of one type, and raises
``ImproperlyConfigured`` with the variable's name when the value cannot be understood: a typo
in ``PAWFILE_DEBUG=ture`` stops the process instead of being read as false.

Secrets may also be given as ``NAME_FILE`` pointing at a file (Docker/Kubernetes secrets);
the file's content, stripped, is the value.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def dotenv_load(path: Path, environ: dict[str, str] | None = None) -> int:
    """Read ``KEY=value`` lines from ``path`` into ``environ`` (default ``os.environ``).

    Variables already set in the environment win over the file. Blank lines and ``#`` comments
    are skipped; single or double quotes around a value are removed. Returns how many variables
    were set. A missing file is not an error (returns 0).
    """
    target = os.environ if environ is None else environ
    if not path.is_file():
        return 0
    count = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ImproperlyConfigured(f"{path}:{number}: expected KEY=value, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key not in target:
            target[key] = value
            count += 1
    return count


class Env:
    """Reads typed values from a mapping (``os.environ`` unless given)."""

    def __init__(self, environ: Mapping[builtins.str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def _raw(self, name: builtins.str) -> builtins.str | None:
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def str(self, name: builtins.str, default: builtins.str = "") -> builtins.str:
        """The value as text, or ``default`` when unset or empty."""
        value = self._raw(name)
        return default if value is None else value

    def bool(self, name: builtins.str, default: builtins.bool = False) -> builtins.bool:
        """``true/false`` (also 1/0, yes/no, on/off); anything else is refused."""
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")

    def int(
        self, name: builtins.str, default: builtins.int, *, minimum: builtins.int | None = None
    ) -> builtins.int:
        """A whole number, at least ``minimum`` when given."""
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
        return number

    def list(
        self, name: builtins.str, default: builtins.list[builtins.str] | None = None
    ) -> builtins.list[builtins.str]:
        """Comma-separated values, stripped, empty items dropped."""
        value = self._raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def url(
        self,
        name: builtins.str,
        default: builtins.str = "",
        *,
        schemes: tuple[builtins.str, ...] = (),
    ) -> builtins.str:
        """A URL with a scheme and a host (or a path for ``sqlite``); trailing slash removed."""
        value = self._raw(name)
        if value is None:
            return default
        parts = urlsplit(value)
        if not parts.scheme or (not parts.netloc and parts.scheme != "sqlite"):
            raise ImproperlyConfigured(f"{name} must be a URL like scheme://host, got {value!r}")
        if schemes and parts.scheme not in schemes:
            allowed = ", ".join(schemes)
            raise ImproperlyConfigured(f"{name} must use one of: {allowed}; got {parts.scheme!r}")
        return value.rstrip("/")

    def secret(self, name: builtins.str, default: builtins.str = "") -> builtins.str:
        """The value of ``name``, or the content of the file named by ``name_FILE``."""
        value = self._raw(name)
        if value is not None:
            return value
        file_name = self._raw(f"{name}_FILE")
        if file_name is None:
            return default
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name}: {exc}") from None
