"""Local fakes of the push services, real HTTP servers in a thread speaking their wire format.

* ``FakePushService``: a web push service (RFC 8030). ``POST /push/<id>`` records the
  request (headers and the encrypted body) and answers what the test scripted (201 with a
  ``Location`` by default, or a saved error body from ``tests/fixtures/webpush/``).
* ``FakeFcm``: Google's OAuth2 token endpoint (``POST /token``: checks the service account's
  JWT assertion with its public key, RS256, ``aud`` Google's token URL, the FCM scope) and FCM
  HTTP v1 (``POST /v1/projects/<project>/messages:send``: checks the bearer token it issued
  and the body's shape, answers from ``tests/fixtures/fcm/``).
* ``BrowserKeys``: what a browser makes when it subscribes: a P-256 key pair and a 16-byte
  auth secret; ``decrypt`` opens an aes128gcm push with them (http_ece).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# What Google's token endpoint requires as the assertion's ``aud`` (google-auth always sends
# it, whatever the file's ``token_uri``).
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


def fixture(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what the fake answered


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering: the request is taken (recorded, and with a 2xx
    # status accepted) at once, so a client that gives up first sees "success after our
    # timeout".
    delay: float = 0.0


class _Server:
    """A threaded HTTP server whose answers come from ``self.answer(request)``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )  # fmt: skip
                with owner.lock:
                    owner.received.append(request)
                answer = owner.answer(request)
                request.status = answer.status
                if answer.delay:
                    time.sleep(answer.delay)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, request: Received) -> Answer:
        raise NotImplementedError

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakePushService(_Server):
    """A web push service. ``script`` maps a subscription id to the answers it gives in
    turn (the last one repeats); unscripted ids get 201."""

    def __init__(self) -> None:
        super().__init__()
        self.script: dict[str, list[Answer]] = {}

    def endpoint(self, name: str) -> str:
        return f"{self.base}/push/{name}"

    def answer(self, request: Received) -> Answer:
        name = request.path.rsplit("/", 1)[-1]
        queue = self.script.get(name)
        if queue:
            return queue.pop(0) if len(queue) > 1 else queue[0]
        return Answer(201, headers={"Location": f"{self.base}/message/{len(self.received)}"})

    def for_(self, name: str) -> list[Received]:
        return [r for r in self.received if r.path == f"/push/{name}"]

    def held(self, name: str) -> list[Received]:
        """What the service keeps for subscription ``name`` while its browser is offline:
        every push it accepted, except that one with the ``Topic`` of a push still held
        replaces it (RFC 8030, 5.4)."""
        kept: dict[str, Received] = {}
        for number, request in enumerate(self.for_(name)):
            if 200 <= request.status < 300:
                kept[request.headers.get("topic") or f"#{number}"] = request
        return list(kept.values())


@dataclass
class BrowserKeys:
    """The keys a browser's ``PushSubscription`` carries (``p256dh``, ``auth``)."""

    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64url(self.secret)

    def subscription(self, endpoint: str) -> dict[str, Any]:
        return {"endpoint": endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        """Open an aes128gcm push (RFC 8291) with the browser's private key and secret."""
        plain = http_ece.decrypt(
            body, private_key=self.private, auth_secret=self.secret, version="aes128gcm"
        )
        return dict(json.loads(plain))


def vapid_claims(authorization: str) -> tuple[dict[str, Any], str]:
    """Verify ``vapid t=<jwt>,k=<key>`` with the key it names; the claims and the key."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    parts = dict(item.strip().split("=", 1) for item in params.split(","))
    point = b64url_decode(parts["k"])
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    claims = jwt.decode(parts["t"], key=public, algorithms=["ES256"], options={"verify_aud": False})
    return claims, parts["k"]


class FakeFcm(_Server):
    """Google's token endpoint and FCM HTTP v1 ``messages:send``.

    ``service_account(tmp_path)`` writes a service-account JSON whose key the fake knows
    and whose ``token_uri`` is the fake. ``script`` maps an FCM token to its answers in turn
    (the last repeats); unscripted tokens get ``send_ok.json``. ``refusals`` lists what the
    fake refused (bad assertion, bad bearer, bad body) so a test can assert there were none.
    """

    PROJECT = "pawfile-test"

    def __init__(self) -> None:
        super().__init__()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.email = "pawfile-push@pawfile-test.iam.gserviceaccount.com"
        self.issued: list[str] = []
        self.script: dict[str, list[Answer]] = {}
        self.refusals: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.token_requests = 0

    @property
    def token_uri(self) -> str:
        return f"{self.base}/token"

    def service_account(self, directory: Path) -> Path:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        path = directory / "service-account.json"
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": self.PROJECT,
                    "private_key_id": "test-key-1",
                    "private_key": pem,
                    "client_email": self.email,
                    "client_id": "1234567890",
                    "token_uri": self.token_uri,
                }
            )
        )
        return path

    def _refuse(self, why: str, status: int = 401) -> Answer:
        self.refusals.append(why)
        body = {"error": {"code": status, "message": why, "status": "UNAUTHENTICATED"}}
        return Answer(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _token(self, request: Received) -> Answer:
        self.token_requests += 1
        form = parse_qs(request.body.decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return self._refuse("wrong grant_type", 400)
        try:
            claims = jwt.decode(
                form["assertion"][0], key=self.key.public_key(), algorithms=["RS256"],
                audience=GOOGLE_TOKEN_AUDIENCE,
            )  # fmt: skip
        except (jwt.PyJWTError, KeyError) as exc:
            return self._refuse(f"bad assertion: {exc}", 400)
        if claims.get("iss") != self.email or claims.get("scope") != FCM_SCOPE:
            return self._refuse(f"bad claims {claims}", 400)
        answer = json.loads(fixture("fcm", "token_ok.json"))
        answer["access_token"] += f"-{len(self.issued)}"
        self.issued.append(answer["access_token"])
        return Answer(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    def answer(self, request: Received) -> Answer:
        if request.path == "/token":
            return self._token(request)
        if request.path != f"/v1/projects/{self.PROJECT}/messages:send":
            return self._refuse(f"unknown path {request.path}", 404)
        bearer = request.headers.get("authorization", "")
        if not bearer.startswith("Bearer ") or bearer[7:] not in self.issued:
            return self._refuse("bad bearer token")
        try:
            body = json.loads(request.body)
            message = body["message"]
            token = message["token"]
            assert set(body) == {"message"}
            assert set(message["notification"]) == {"title", "body"}
            assert all(isinstance(v, str) for v in message["data"].values())
        except (ValueError, KeyError, AssertionError, TypeError) as exc:
            return self._refuse(f"bad body: {exc!r}", 400)
        self.sent.append(message)
        queue = self.script.get(token)
        if queue:
            return queue.pop(0) if len(queue) > 1 else queue[0]
        return Answer(200, fixture("fcm", "send_ok.json"), {"Content-Type": "application/json"})


def fcm_error(name: str, status: int, **headers: str) -> Answer:
    return Answer(status, fixture("fcm", name), {"Content-Type": "application/json", **headers})


def webpush_error(name: str, status: int, **headers: str) -> Answer:
    return Answer(status, fixture("webpush", name), {"Content-Type": "application/json", **headers})


Deliver = Callable[[], None]
