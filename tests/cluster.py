"""Real ``pawfile`` processes for the tests that need them: one site, its processes, cleaned up.

A test that runs the console script (``pawfile web``, ``worker``, ``serve``, or the shipped
units of ``deploy/``) asks for a ``Cluster``::

    with services_cluster(tmp_path, label="scaleout") as cluster:   # PostgreSQL + Redis
        cluster.pawfile("migrate")
        a, b = cluster.web(), cluster.web()
        cluster.start("worker", [PAWFILE, "worker", "--scheduler"])
        cluster.up()                  # every web node answers /health
        ...                           # talk HTTP to a and b
    # every process group stopped, the Redis keys and the database gone

``local_cluster`` is the same on SQLite under ``folder/data`` (the embedded site).

What a cluster guarantees:

- The processes see only what the test gives them: ``env`` starts from this process's
  environment without anything that configures Pawfile or the test run (``process_env``),
  and they run in the test's folder, so a ``.env`` file in the checkout is not read.
- Each process runs in a session (process group) of its own; its output goes to
  ``folder/<name>.log`` (appended, so a restart under the same name keeps one log).
- On exit every group still running gets SIGTERM, and SIGKILL after 20 s; a services cluster
  then deletes the keys of its Redis prefix and drops its database (``WITH (FORCE)``).
- A services cluster has a database of its own (``pawfile_<label>_<hex>``) and a Redis key
  prefix of its own (cache and queue), so parallel test workers and runs never meet.

Used by ``tests/test_scaleout.py``, ``tests/test_storage_s3.py``, ``tests/test_crash.py``,
``tests/ops/test_tracing.py`` and ``tests/rehearsal.py`` (which ``bench/rehearsal.py`` also
runs, outside pytest: nothing here needs pytest unless a service is missing).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

PAWFILE = str(Path(sys.executable).with_name("pawfile"))
STOP_GRACE = 20.0  # seconds from SIGTERM to SIGKILL when a cluster is taken down

# What configures Pawfile or the test run; a started process gets none of it from the parent.
_NOT_INHERITED_PREFIXES = ("PAWFILE_", "DJANGO_", "S3_", "OTEL_")
_NOT_INHERITED = {
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "PYTEST_XDIST_WORKER",
    "PROMETHEUS_MULTIPROC_DIR",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_env(values: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without Pawfile's settings, the services' addresses and the
    test run's own variables (``_NOT_INHERITED``), with ``values`` on top."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_NOT_INHERITED_PREFIXES) and key not in _NOT_INHERITED
    }
    return {**env, **(values or {})}


def wait_until_up(
    url: str,
    process: subprocess.Popen[bytes],
    timeout: float = 40,
    *,
    ready: Iterable[int] = (200,),
) -> None:
    """Return once ``url + "/health"`` answers with a status in ``ready``.

    Raises ``AssertionError`` if ``process`` exits first or ``timeout`` seconds pass.
    """
    statuses = set(ready)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited early with {process.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code in statuses:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not come up within {timeout:.0f} s")


def group_members(pgid: int) -> list[int]:
    """Processes of the group ``pgid`` that still run (a zombie waiting to be reaped has ended)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


@dataclass
class Cluster:
    """The processes of one test's site. ``env`` is what every process gets (change it before
    starting one); ``database_url`` is the site's own PostgreSQL database ("" on SQLite)."""

    folder: Path
    env: dict[str, str]
    database_url: str = ""
    prefix: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)  # name -> URL, for ``up``

    def run(
        self, command: list[str], *, env: Mapping[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``command`` to its end with ``env`` added to the cluster's; returns the result.

        Raises ``AssertionError`` with the end of its output if it exits with an error.
        """
        result = subprocess.run(
            command,
            env={**self.env, **(env or {})},
            cwd=self.folder,
            capture_output=True,
            timeout=timeout,
        )
        if result.returncode:
            output = (result.stdout + result.stderr).decode(errors="replace")[-2000:]
            raise AssertionError(f"{command[1:]} exited with {result.returncode}:\n{output}")
        return result

    def pawfile(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        """``pawfile <args>`` to its end (``migrate``, ``createadmin --email …``)."""
        self.run([PAWFILE, *args], env=env)

    def start(
        self,
        name: str,
        command: list[str],
        *,
        env: Mapping[str, str] | None = None,
        url: str = "",
    ) -> subprocess.Popen[bytes]:
        """Start ``command`` as ``name`` in a process group of its own, with ``env`` added to the
        cluster's. A ``url`` is waited for by ``up``. A name already used is replaced (the old
        process must have ended: see ``kill``)."""
        with (self.folder / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                command,
                env={**self.env, **(env or {})},
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        if url:
            self.urls[name] = url
        return process

    def web(
        self,
        port: int | None = None,
        *,
        threads: int = 2,
        command: str = "web",
        env: Mapping[str, str] | None = None,
    ) -> str:
        """Start ``pawfile web`` (or ``serve`` with ``command``) on ``port`` (a free one when
        None) as ``<command>-<port>``; returns its URL without waiting (see ``up``)."""
        port = port or free_port()
        bind = ["--bind", f"127.0.0.1:{port}"]
        args = [command, *bind] + (["--threads", str(threads)] if command == "web" else [])
        url = f"http://127.0.0.1:{port}"
        self.start(f"{command}-{port}", [PAWFILE, *args], env=env, url=url)
        return url

    def up(self, *names: str, timeout: float = 40, ready: Iterable[int] = (200,)) -> None:
        """Wait until the processes ``names`` (every one started with a URL, when none are
        given) answer ``/health`` with a status in ``ready`` (see ``wait_until_up``)."""
        for name in names or list(self.urls):
            try:
                wait_until_up(self.urls[name], self.processes[name], timeout, ready=ready)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{self.log_tail(name)}") from None

    def kill(self, name: str) -> None:
        """``kill -9`` of ``name`` and every process of its group; returns once all are gone.

        Raises ``AssertionError`` if one of them outlives SIGKILL for 30 s.
        """
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while group_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not group_members(process.pid), f"a process of {name}'s group outlived SIGKILL"
        self.urls.pop(name, None)

    def stop(self) -> None:
        """SIGTERM to every group still running; SIGKILL to those not gone after ``STOP_GRACE``."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)

    def log_tail(self, name: str, size: int = 1500) -> str:
        """The last ``size`` characters of ``folder/<name>.log`` ("" if there is none)."""
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""


def site_env(folder: Path, label: str) -> dict[str, str]:
    """What every test site sets: a secret key, its data dir under ``folder``, quiet logs."""
    return {
        "PAWFILE_SECRET_KEY": f"{label}-test-" + "s" * 40,
        "PAWFILE_DATA_DIR": str(folder / "data"),
        "PAWFILE_LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def local_cluster(folder: Path, *, label: str) -> Iterator[Cluster]:
    """A cluster on SQLite under ``folder/data``, no services (see the module docstring)."""
    cluster = Cluster(folder=folder, env=process_env(site_env(folder, label)))
    try:
        yield cluster
    finally:
        cluster.stop()


def services_urls(what: str) -> tuple[str, str]:
    """``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` of the services pass.

    Fails the test, saying that ``what`` needs them, when either is missing.
    """
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        import pytest

        pytest.fail(f"{what} needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    return database_url, redis_url


@contextlib.contextmanager
def services_cluster(
    folder: Path, *, label: str, database_url: str = "", redis_url: str = ""
) -> Iterator[Cluster]:
    """A cluster on a new PostgreSQL database and a Redis key prefix of its own.

    ``database_url`` names the PostgreSQL server (any database on it) and ``redis_url`` the
    Redis; both default to the services pass's (``services_urls``, which fails the test
    without them). ``env`` holds ``DATABASE_URL``, ``REDIS_URL``, ``PAWFILE_CACHE_PREFIX``
    and ``PAWFILE_QUEUE_NAME`` besides ``site_env``. Everything is removed on exit.
    """
    import psycopg
    import redis

    if not database_url or not redis_url:
        database_url, redis_url = services_urls(f"the {label} test")
    name = f"pawfile_{label}_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(database_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    prefix = name.replace("_", "-")
    cluster = Cluster(
        folder=folder,
        env={},
        database_url=urlunsplit(parts._replace(path="/" + name)),
        prefix=prefix,
    )
    cluster.env = process_env(
        {
            **site_env(folder, label),
            "DATABASE_URL": cluster.database_url,
            "REDIS_URL": redis_url,
            "PAWFILE_CACHE_PREFIX": prefix,
            "PAWFILE_QUEUE_NAME": prefix,
        }
    )
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(f"*{prefix}*"):
                client.delete(key)
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
