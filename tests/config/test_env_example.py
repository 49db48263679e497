"""`.env.example` documents every variable the code reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(
    r"""(?:env\.(?:str|bool|int|list|url|secret)|environ\.get)\(\s*"([A-Z][A-Z0-9_]+)\""""
)
# PROMETHEUS_MULTIPROC_DIR is prometheus_client's own: set even empty, it switches the library
# to files, so .env.example shows it only as a comment (checked below).
NOT_SETTINGS = {"PYTEST_XDIST_WORKER", "PROMETHEUS_MULTIPROC_DIR"}


def test_every_variable_is_in_env_example() -> None:
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    read = set()
    for path in (ROOT / "pawfile").rglob("*.py"):
        read |= set(READ.findall(path.read_text()))
    missing = read - documented - NOT_SETTINGS
    assert not missing, f"add to .env.example: {sorted(missing)}"
    assert read - NOT_SETTINGS, "the pattern found no variables at all"
    assert "# PROMETHEUS_MULTIPROC_DIR=" in (ROOT / ".env.example").read_text()
