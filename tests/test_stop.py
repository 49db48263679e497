"""A clean stop: Ctrl-C or SIGTERM ends every process of ``pawfile serve``, ``pawfile web`` and
``pawfile worker`` within 10 s, with requests in flight and connections held open, losing no
acknowledged write, with no panic in the output, and says "Stopped.".

Each test starts the real console script in a process group of its own on a SQLite site under
a temporary data dir (the processes run SQLite whatever the pass, so the PostgreSQL + Redis pass
skips them), and talks HTTP to it. Ctrl-C is SIGINT to the whole group (what a terminal sends);
SIGTERM goes to the command's own process, as a service manager's first signal does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster import free_port, group_members

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get("DATABASE_URL")),
        reason="the processes run on SQLite: run once, in the SQLite pass",
    ),
]

PAWFILE = str(Path(sys.executable).with_name("pawfile"))
ROOT = Path(__file__).resolve().parents[1]
ADMIN, PASSWORD = "admin@example.com", "a long enough admin password 42"
DEADLINE = 10.0  # seconds from the signal until the last process of the group is gone


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a migrated SQLite site with an admin (who has a household)."""
    data = tmp_path_factory.mktemp("site")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))},
        "PAWFILE_DATA_DIR": str(data),
        "PAWFILE_SECRET_KEY": "clean-stop-test-" + "s" * 40,
        "PAWFILE_ADMIN_PASSWORD": PASSWORD,
        "PAWFILE_WORKER_THREADS": "2",
        # `web --workers 2` without Redis is refused unless allowed (test_refuse_unsafe.py)
        "PAWFILE_ALLOW_UNSHARED": "1",
    }
    for name in ("PYTEST_XDIST_WORKER", "EMAIL_URL", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    for command in ([PAWFILE, "migrate"], [PAWFILE, "createadmin", "--email", ADMIN]):
        subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
    return env


def _describe(pids: list[int]) -> str:
    """What each process still running is and where its threads wait (name, state, kernel
    wait channel), for the message of a stop that did not end in time."""
    lines = []
    for pid in pids:
        proc = Path("/proc") / str(pid)
        with contextlib.suppress(OSError):
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            lines.append(f"{pid}: {command.strip()}")
            for task in sorted((proc / "task").iterdir(), key=lambda t: int(t.name)):
                with contextlib.suppress(OSError):
                    name = (task / "comm").read_text().strip()
                    stat = (task / "stat").read_text()
                    state = stat[stat.rindex(")") + 2 :].split()[0]
                    wchan = (task / "wchan").read_text().strip()
                    lines.append(f"  thread {task.name} {name!r} {state} {wchan}")
    return "\n".join(lines)


class Running:
    """A ``pawfile`` command running in its own process group, its output in a file."""

    left = ""  # what still ran when a stop timed out (``_describe``)

    def __init__(self, site: dict[str, str], tmp_path: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "output.log"
        env = {**site, "PAWFILE_BASE_URL": self.url}
        bind = ["--bind", f"127.0.0.1:{self.port}"] if args[0] != "worker" else []
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [PAWFILE, *args, *bind],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pgid = self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.url} did not come up:\n{self.output()}")

    def wait_output(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.1)

    def stop(self, signum: int, *, group: bool) -> float:
        """Send ``signum`` (to the group, or to the command alone); seconds until every process
        of the group has ended, or ``inf`` after DEADLINE (the group is then killed)."""
        start = time.monotonic()
        if group:
            os.killpg(self.pgid, signum)
        else:
            self.process.send_signal(signum)
        while time.monotonic() - start < DEADLINE:
            self.process.poll()
            if not group_members(self.pgid):
                return time.monotonic() - start
            time.sleep(0.05)
        self.left = _describe(group_members(self.pgid))
        self.kill()
        return float("inf")

    def kill(self) -> None:
        for pid in group_members(self.pgid):
            with contextlib.suppress(ProcessLookupError):  # ended between the scan and now
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def start(site: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def run(*args: str) -> Running:
        started.append(Running(site, tmp_path, *args))
        return started[-1]

    yield run
    for running in started:
        if running.process.poll() is None or group_members(running.pgid):
            running.kill()


def token(url: str) -> str:
    response = httpx.post(
        url + "/_allauth/app/v1/auth/login", json={"email": ADMIN, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["meta"]["access_token"])


class Traffic:
    """What a browser and API clients do while the stop comes: a kept-alive connection held
    open, an upload sent slowly (in flight when the signal comes), and pets written through
    the API by a few threads (the ids the server acknowledged with a 201 are kept)."""

    def __init__(self, url: str, port: int) -> None:
        self.url, self.port = url, port
        self.bearer = {"Authorization": f"Bearer {token(url)}"}
        households = httpx.get(url + "/api/v1/households", headers=self.bearer).json()
        self.household = households["items"][0]["id"]
        self.acknowledged: list[int] = []
        self.halt = threading.Event()
        self.threads = [threading.Thread(target=self.write, args=(n,)) for n in range(3)]
        self.sockets: list[socket.socket] = []

    def write(self, writer: int) -> None:
        with httpx.Client(headers=self.bearer, timeout=15) as client:
            for n in range(10_000):
                if self.halt.is_set():
                    return
                body = {"household_id": self.household, "name": f"w{writer}-{n}", "species": "dog"}
                try:
                    response = client.post(self.url + "/api/v1/pets", json=body)
                except httpx.HTTPError:
                    continue  # refused or cut: not acknowledged
                if response.status_code == 201:
                    self.acknowledged.append(response.json()["id"])

    def begin(self) -> None:
        held = socket.create_connection(("127.0.0.1", self.port))
        held.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert held.recv(4096).startswith(b"HTTP/1.1 200")  # kept alive, then idle
        slow = socket.create_connection(("127.0.0.1", self.port))
        slow.sendall(
            b"POST /api/v1/pets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200\r\nAuthorization: "
            + self.bearer["Authorization"].encode()
            + b"\r\n\r\n{"
        )
        self.sockets += [held, slow]
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(self.acknowledged) < 5:
            assert time.monotonic() < deadline, "no write was acknowledged"
            time.sleep(0.05)

    def end(self) -> None:
        self.halt.set()
        for thread in self.threads:
            thread.join(timeout=30)
        for sock in self.sockets:
            sock.close()


def stored_pet_ids(site: dict[str, str]) -> set[int]:
    with sqlite3.connect(Path(site["PAWFILE_DATA_DIR"]) / "pawfile.sqlite3") as db:
        return {row[0] for row in db.execute("SELECT id FROM pets_pet")}


def assert_clean(running: Running, elapsed: float) -> None:
    output = running.output()
    print(f"stopped in {elapsed:.2f} s")  # the figure, with pytest -rP
    assert elapsed <= DEADLINE, (
        f"still running {DEADLINE} s after the signal:\n{running.left}\n{output}"
    )
    assert "Stopped." in output, output
    assert "panic" not in output.lower(), output
    assert "Traceback" not in output, output


@pytest.mark.parametrize(
    ("signum", "group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c", "sigterm"],
)
def test_serve_stops_with_requests_in_flight(
    start: Any, site: dict[str, str], signum: int, group: bool
) -> None:
    running = start("serve")
    running.wait_up()
    traffic = Traffic(running.url, running.port)
    traffic.begin()
    elapsed = running.stop(signum, group=group)
    traffic.end()
    assert_clean(running, elapsed)
    assert set(traffic.acknowledged) <= stored_pet_ids(site)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_stops_during_start_up(start: Any, signum: int) -> None:
    running = start("serve")
    time.sleep(0.6)
    elapsed = running.stop(signum, group=True)
    assert_clean(running, elapsed)


def test_web_stops_cleanly_after_load(start: Any) -> None:
    running = start("web", "--workers", "2", "--threads", "4")
    running.wait_up()
    answered: list[int] = []

    def load() -> None:
        with httpx.Client(timeout=15) as client:
            for _ in range(80):
                try:
                    answered.append(client.get(running.url + "/health").status_code)
                except httpx.HTTPError:
                    answered.append(0)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while answered.count(200) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)  # the load is under way (however slow the machine) ...
    assert answered.count(200) >= 20
    assert len(answered) < 4 * 80  # ... and still runs when the signal comes
    elapsed = running.stop(signal.SIGINT, group=True)
    for thread in threads:
        thread.join(timeout=30)
    assert_clean(running, elapsed)


def test_web_stops_on_sigterm_with_a_connection_held(start: Any) -> None:
    running = start("web")
    running.wait_up()
    traffic = Traffic(running.url, running.port)
    traffic.begin()
    elapsed = running.stop(signal.SIGTERM, group=False)
    traffic.end()
    assert_clean(running, elapsed)


@pytest.mark.parametrize(
    ("signum", "group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c", "sigterm"],
)
def test_worker_stops(start: Any, signum: int, group: bool) -> None:
    running = start("worker", "--scheduler")
    running.wait_output("Huey consumer started")
    elapsed = running.stop(signum, group=group)
    assert_clean(running, elapsed)
