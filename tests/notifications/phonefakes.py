"""Local fakes of WhatsApp's Cloud API (Graph API) and Twilio's REST API: real HTTP servers
in a thread, speaking the providers' wire formats (paths, auth headers, bodies, error JSON),
answering with the payloads saved under ``tests/fixtures/whatsapp/`` and ``twilio/``.

A test scripts answers with ``fake.script(status, fixture, headers=..., delay=...)``: each
request takes the next scripted answer, then the fake answers success again. Every
request is recorded (``fake.requests``) with its path, headers and parsed body.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

WA_TOKEN = "EAAG-test-token"
WA_PHONE_ID = "106540352242922"
WA_APP_SECRET = "wa-app-secret-for-tests"
WA_VERIFY_TOKEN = "wa-verify-token"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-auth-token-for-tests"
TWILIO_FROM = "+15005550006"


def fixture_text(provider: str, name: str, **values: str) -> str:
    text = (FIXTURES / provider / name).read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def fixture_json(provider: str, name: str, **values: str) -> Any:
    return json.loads(fixture_text(provider, name, **values))


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)


@dataclass
class Answer:
    status: int
    fixture: str | None
    headers: dict[str, str]
    delay: float
    then_ok: bool  # after the delay, still take the message (success after our timeout)


def _multipart(body: bytes, content_type: str) -> tuple[dict[str, list[str]], dict[str, Any]]:
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    form: dict[str, list[str]] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in body.split(b"--" + boundary):
        if not part.strip() or part.strip() == b"--":
            continue
        head, _sep, content = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = dict(
            line.decode().split(": ", 1) for line in head.split(b"\r\n") if b": " in line
        )
        disposition = headers.get("Content-Disposition") or headers.get("content-disposition", "")
        params = dict(
            item.strip().split("=", 1) for item in disposition.split(";")[1:] if "=" in item
        )
        name = params.get("name", "").strip('"')
        if "filename" in params:
            files[name] = (
                params["filename"].strip('"'),
                headers.get("Content-Type") or headers.get("content-type", ""),
                content,
            )
        else:
            form.setdefault(name, []).append(content.decode())
    return form, files


class _Fake:
    provider = ""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.answers: list[Answer] = []
        self.taken: list[Recorded] = []  # requests the provider accepted (a message "sent")
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                fake._handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(
        self,
        status: int,
        fixture: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        then_ok: bool = False,
    ) -> None:
        self.answers.append(Answer(status, fixture, headers or {}, delay, then_ok))

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> Recorded:
        headers = {k: v for k, v in handler.headers.items()}
        recorded = Recorded(handler.command, handler.path, headers, body)
        content_type = handler.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            recorded.json = json.loads(body or b"null")
        elif content_type.startswith("application/x-www-form-urlencoded"):
            recorded.form = parse_qs(body.decode(), keep_blank_values=True)
        elif content_type.startswith("multipart/form-data"):
            recorded.form, recorded.files = _multipart(body, content_type)
        with self._lock:
            self.requests.append(recorded)
        return recorded

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = payload.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.wfile.write(data)  # (the client may have given up: its timeout)

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        raise NotImplementedError

    def _next_answer(self) -> Answer | None:
        with self._lock:
            return self.answers.pop(0) if self.answers else None

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Recorded]:
        """Wait until ``count`` messages were taken (the worker sends after commit)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.taken) >= count:
                return self.taken
            time.sleep(0.05)
        raise AssertionError(f"{self.provider}: {len(self.taken)} messages, expected {count}")


class GraphFake(_Fake):
    """``POST /v21.0/{phone_number_id}/messages`` and ``/media``, Bearer token checked."""

    provider = "whatsapp"

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        recorded = self._record(handler, body)
        if handler.headers.get("Authorization") != f"Bearer {WA_TOKEN}":
            self._send(handler, 401, fixture_text("whatsapp", "error_190.json"))
            return
        prefix = f"/v21.0/{WA_PHONE_ID}/"
        if not handler.path.startswith(prefix):
            self._send(handler, 400, json.dumps({"error": {"message": "Unsupported post request",
                                                           "type": "GraphMethodException",
                                                           "code": 100}}))  # fmt: skip
            return
        answer = self._next_answer()
        if answer is not None and answer.delay:
            time.sleep(answer.delay)
        if answer is not None and not answer.then_ok:
            payload = fixture_text("whatsapp", answer.fixture) if answer.fixture else "{}"
            self._send(handler, answer.status, payload, answer.headers)
            return
        number = next(self._ids)
        if handler.path == prefix + "media":
            assert recorded.form.get("messaging_product") == ["whatsapp"], recorded.form
            self.taken.append(recorded)
            self._send(handler, 200, fixture_text("whatsapp", "media_uploaded.json",
                                                  media_id=f"{9000 + number}"))  # fmt: skip
            return
        message = recorded.json or {}
        assert message.get("messaging_product") == "whatsapp", message
        to = str(message.get("to", ""))
        self.taken.append(recorded)
        wamid = f"wamid.TEST{number:06d}"
        self._send(
            handler, 200,
            fixture_text("whatsapp", "message_sent.json", to=to, wa_id=to.lstrip("+"),
                         wamid=wamid),
        )  # fmt: skip

    def messages(self) -> list[dict[str, Any]]:
        return [r.json for r in self.taken if r.path.endswith("/messages")]

    def uploads(self) -> list[Recorded]:
        return [r for r in self.taken if r.path.endswith("/media")]


class TwilioFake(_Fake):
    """``POST /2010-04-01/Accounts/{sid}/Messages.json``, HTTP Basic sid:token checked."""

    provider = "twilio"

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        recorded = self._record(handler, body)
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if handler.headers.get("Authorization") != expected:
            self._send(handler, 401, fixture_text("twilio", "error_20003.json"))
            return
        if handler.path != f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
            self._send(handler, 404, json.dumps({"code": 20404, "message": "Not found",
                                                 "status": 404}))  # fmt: skip
            return
        answer = self._next_answer()
        if answer is not None and answer.delay:
            time.sleep(answer.delay)
        if answer is not None and not answer.then_ok:
            payload = fixture_text("twilio", answer.fixture) if answer.fixture else "{}"
            self._send(handler, answer.status, payload, answer.headers)
            return
        form = recorded.form
        sid = f"SM{next(self._ids):032d}"
        self.taken.append(recorded)
        self._send(
            handler, 201,
            json.dumps(fixture_json(
                "twilio", "message_created.json", account_sid=TWILIO_SID, sid=sid,
                to=form.get("To", [""])[0], **{"from": form.get("From", [""])[0]},
            ) | {"body": form.get("Body", [""])[0]}),
        )  # fmt: skip

    def texts(self) -> list[dict[str, str]]:
        return [{k: v[0] for k, v in r.form.items()} for r in self.taken]


@pytest.fixture
def graph(settings: Any) -> Iterator[GraphFake]:
    """A running Graph API fake, with WhatsApp switched on and pointed at it."""
    fake = GraphFake()
    fake.start()
    settings.WHATSAPP_ENABLED = True
    settings.WHATSAPP_TOKEN = WA_TOKEN
    settings.WHATSAPP_PHONE_NUMBER_ID = WA_PHONE_ID
    settings.WHATSAPP_APP_SECRET = WA_APP_SECRET
    settings.WHATSAPP_VERIFY_TOKEN = WA_VERIFY_TOKEN
    settings.WHATSAPP_API_BASE = fake.base + "/v21.0"
    settings.WHATSAPP_TEMPLATE_REMINDER = "pet_reminder"
    settings.WHATSAPP_TEMPLATE_LANG = "en"
    settings.WHATSAPP_TEMPLATE_CODE = ""
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def twilio(settings: Any) -> Iterator[TwilioFake]:
    """A running Twilio fake, with SMS switched on and pointed at it."""
    fake = TwilioFake()
    fake.start()
    settings.SMS_ENABLED = True
    settings.TWILIO_ACCOUNT_SID = TWILIO_SID
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.TWILIO_FROM = TWILIO_FROM
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE = fake.base
    settings.SMS_MONTHLY_LIMIT = 100
    settings.SMS_RATELIMIT = "1000/3600"
    try:
        yield fake
    finally:
        fake.stop()


def verified_phone(user: Any, channel: str, phone: str, **extra: Any) -> Any:
    """``user``'s number on ``channel``, verified and opted in (as after the code)."""
    from django.utils import timezone

    from pawfile.notifications.models import PhoneChannel

    return PhoneChannel.objects.create(
        user=user, channel=channel, phone=phone, verified_at=timezone.now(), opted_in=True,
        **extra,
    )  # fmt: skip


def twilio_tampered(url: str, params: dict[str, str], tamper: str, *, change: str) -> str | None:
    """The ``X-Twilio-Signature`` for a POST of ``params`` to ``url``, spoilt as ``tamper``
    says: ``unsigned`` (``None``), ``wrong token``, ``one byte changed`` (parameter
    ``change`` altered after signing, in place), ``request host`` (signed for the address a
    proxy forwarded to instead of the public one)."""
    from pawfile.notifications.webhooks import twilio_signature

    signed = {k: [v] for k, v in params.items()}
    if tamper == "unsigned":
        return None
    if tamper == "wrong token":
        return twilio_signature(url, signed, "another-token")
    if tamper == "request host":
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1]
        return twilio_signature("http://testserver" + path, signed, TWILIO_TOKEN)
    signature = twilio_signature(url, signed, TWILIO_TOKEN)
    if tamper == "one byte changed":
        params[change] = params[change][:-1] + chr(ord(params[change][-1]) ^ 1)
    return signature
