"""The browser fixtures of ``tests/e2e`` for the health pages' own browser test."""

from tests.e2e.conftest import browser, chromium_executable, page  # noqa: F401
