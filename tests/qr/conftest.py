"""Fixtures of the QR tests: a QR manager (dana, staff with ``qr.qr_manager``), a code, and a
way to call the redirect layer as a WSGI server would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from pawfile.accounts.models import User
from pawfile.qr import scans, services
from pawfile.qr.generation import changed_here
from pawfile.qr.models import QRCode
from pawfile.qr.redirect import QrRedirect
from tests.conftest import make_user


@pytest.fixture
def manager(db: None) -> User:
    user = make_user("dana@example.org", "Dana")
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="qr_manager"))
    return User.objects.get(pk=user.pk)  # permissions cache fresh


@pytest.fixture
def code(manager: User) -> QRCode:
    return services.code_create(
        actor=manager, title="Shelter poster", target_url="https://shelter.example/adopt?x=1"
    )


@pytest.fixture(autouse=True)
def _empty_buffer() -> Iterator[None]:
    scans.buffer.clear()
    changed_here.clear()
    yield
    scans.buffer.clear()
    changed_here.clear()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    header_list: list[tuple[str, str]] = field(default_factory=list)


def django_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"django"]


class Caller:
    """Calls a ``QrRedirect`` (no thread) with a WSGI environ."""

    def __init__(self) -> None:
        self.layer = QrRedirect(django_app, background=False)
        self.clock = 1e6

    def __call__(self, path: str, method: str = "GET", query: str = "", **extra: str) -> Answer:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REMOTE_ADDR": "203.0.113.7",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            **extra,
        }
        got: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *exc: Any) -> None:
            got["status"], got["headers"] = status, headers

        body = b"".join(self.layer(environ, start_response))
        headers = got["headers"]
        return Answer(int(got["status"][:3]), dict(headers), body, headers)

    def refresh(self) -> None:
        """Refresh as the background thread would, with the database row due for a read
        (the test's transaction never commits, so no Redis bump happens)."""
        self.clock += 100.0
        self.layer.table.refresh_if_changed(now=self.clock)


@pytest.fixture
def wsgi(db: None) -> Caller:
    return Caller()
