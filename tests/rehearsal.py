"""The scale-out rehearsal: the files of ``deploy/`` run on this machine, as an operator would.

``site_up`` starts nginx from Debian's package with ``deploy/nginx/pawfile.conf`` and
``deploy/nginx/pawfile-upstream.conf``, and every process the units of ``deploy/systemd/``
start (their ``ExecStart`` lines, the instance put in for ``%i``), with the environment of
``deploy/pawfile.env``, in front of PostgreSQL, Redis, a local S3-compatible server (moto's)
and an SMTP sink. Only what names this machine is replaced, and ``SITE_VALUES`` lists it:
host name, ports, certificate, paths, the services' addresses and the secrets' files.
Everything else (TLS settings, proxy headers, timeouts, retries, the units' commands, the
production settings) is the shipped text.

Used by ``tests/test_rehearsal.py`` (the test) and ``bench/rehearsal.py`` (requests/s with
1, 2 and 3 nodes). Not part of the product.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
PAWFILE = str(Path(sys.executable).with_name("pawfile"))
INSTALLED_PAWFILE = "/opt/pawfile/venv/bin/pawfile"
UPSTREAM_PORTS = (8001, 8002, 8003)

# What the rehearsal sets in deploy/pawfile.env: the values that name this machine.
SITE_VALUES = {
    "PAWFILE_BASE_URL",
    "PAWFILE_DATA_DIR",
    "PAWFILE_SECRET_KEY_FILE",
    "PAWFILE_FIELD_KEYS_FILE",
    "PAWFILE_METRICS_TOKEN_FILE",
    "DATABASE_URL",
    "REDIS_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY_FILE",
    "EMAIL_URL",
    "PAWFILE_BACKUP_DIR",
}
# Added so the run keeps to its own keys in a Redis shared with other runs.
ISOLATION = {"PAWFILE_CACHE_PREFIX", "PAWFILE_QUEUE_NAME"}


class RehearsalError(RuntimeError):
    """Something the rehearsal needs is missing (nginx, a service); the message says what."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a systemd ``EnvironmentFile`` (comments and blanks skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def unit_command(unit: str, instance: str = "") -> list[str]:
    """The ``ExecStart`` of a unit in deploy/systemd, run with this checkout's ``pawfile``."""
    text = (DEPLOY / "systemd" / unit).read_text()
    match = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE)
    if not match:
        raise RehearsalError(f"{unit} has no ExecStart")
    words = shlex.split(match.group(1).replace("%i", instance))
    if words[0] != INSTALLED_PAWFILE:
        raise RehearsalError(f"{unit} runs {words[0]}, not {INSTALLED_PAWFILE}")
    return [PAWFILE, *words[1:]]


def nginx_site(*, http_port: int, https_port: int, upstream: Path, cert: Path, key: Path) -> str:
    """deploy/nginx/pawfile.conf with this machine's names, ports and certificate."""
    text = (DEPLOY / "nginx" / "pawfile.conf").read_text()
    replaced = {
        "include /etc/nginx/sites-available/pawfile-upstream.conf;": f"include {upstream};",
        "    listen [::]:80;\n": "",
        "    listen [::]:443 ssl http2;\n": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "/etc/letsencrypt/live/pawfile.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/pawfile.example.org/privkey.pem": str(key),
        "/var/www/letsencrypt": str(upstream.parent / "acme"),
        "server_name pawfile.example.org;": "server_name localhost;",
    }
    for old, new in replaced.items():
        if old not in text:
            raise RehearsalError(f"deploy/nginx/pawfile.conf no longer holds {old!r}")
        text = text.replace(old, new)
    return text


def nginx_upstream(ports: list[int]) -> str:
    """deploy/nginx/pawfile-upstream.conf listing these nodes (its three example lines)."""
    lines = []
    for line in (DEPLOY / "nginx" / "pawfile-upstream.conf").read_text().splitlines():
        match = re.search(r"server 127\.0\.0\.1:(\d+)", line)
        if match:
            index = UPSTREAM_PORTS.index(int(match.group(1)))
            if index >= len(ports):
                continue
            line = line.replace(match.group(0), f"server 127.0.0.1:{ports[index]}")
        lines.append(line)
    return "\n".join(lines) + "\n"


def certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for localhost signed by it: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Rehearsal CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@dataclass
class Site:
    """A running rehearsal: ``url`` is nginx's https address, ``nodes`` the web ports."""

    url: str
    ca: Path
    nodes: list[int]
    env: dict[str, str]
    folder: Path
    token: str
    pet_ids: list[int]
    metrics_token: str
    database_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def start_node(self, port: int) -> None:
        process = self.start(f"web-{port}", unit_command("pawfile-web@.service", str(port)))
        wait_until_up(f"http://127.0.0.1:{port}", process)

    def kill(self, name: str) -> None:
        """``kill -9`` of the process and every process it started (its session)."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)

    def requests_served(self, port: int) -> float:
        """Requests the node on ``port`` has answered, from its own /metrics."""
        answer = httpx.get(
            f"http://127.0.0.1:{port}/metrics",
            headers={"Authorization": f"Bearer {self.metrics_token}"},
            timeout=10,
        )
        answer.raise_for_status()
        total = 0.0
        for line in answer.text.splitlines():
            if line.startswith("pawfile_http_requests_total{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def client(self, **options: object) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            verify=self.tls(),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **options,  # type: ignore[arg-type]
        )

    def tls(self) -> ssl.SSLContext:
        """A TLS context that trusts the rehearsal's own CA (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.ca))

    def bucket_names(self) -> list[str]:
        """The names of the objects stored in the site's bucket."""
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=self.env["S3_ENDPOINT_URL"],
            region_name=self.env["S3_REGION"],
            aws_access_key_id=self.env["S3_ACCESS_KEY_ID"],
            aws_secret_access_key="rehearsal-secret",
        )
        listed = s3.list_objects_v2(Bucket=self.env["S3_BUCKET"])
        return [item["Key"] for item in listed.get("Contents", [])]

    def log_tail(self, name: str, size: int = 1500) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RehearsalError(f"{url} exited early with {process.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code in (200, 503):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RehearsalError(f"{url} did not come up")


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3-compatible server on a free local port (no network); yields its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def site_up(
    folder: Path,
    *,
    database_url: str,
    redis_url: str,
    nodes: int = 3,
    workers: int = 2,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Site]:
    """The whole scale-out site from deploy/: ``nodes`` web nodes, ``workers`` workers and the
    scheduler behind nginx. Everything made is removed on exit (database, Redis keys).
    ``extra_env`` is added on top (the benchmark lifts the API rate limits with it)."""
    import boto3
    import psycopg
    import redis

    from tests.smtp import MailServer

    nginx = "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise RehearsalError("nginx is missing: apt-get install nginx-light (make browser does)")
    name = "pawfile_rehearsal_" + uuid.uuid4().hex[:8]
    parts = urlsplit(database_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    site_database = urlunsplit(parts._replace(path="/" + name))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    secrets = folder / "secrets"
    secrets.mkdir(parents=True)
    from cryptography.fernet import Fernet

    metrics_token = uuid.uuid4().hex
    (secrets / "secret_key").write_text("rehearsal-" + uuid.uuid4().hex * 2)
    (secrets / "field_keys").write_text(Fernet.generate_key().decode())
    (secrets / "metrics_token").write_text(metrics_token)
    (secrets / "s3_secret").write_text("rehearsal-secret")
    ca, cert, key = certificate(folder)
    http_port, https_port = free_port(), free_port()
    ports = [free_port() for _ in range(nodes)]
    mail = MailServer()
    mail.start()
    stack = contextlib.ExitStack()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        s3_url = stack.enter_context(s3_server())
        bucket = "pawfile-rehearsal"
        boto3.client(
            "s3",
            endpoint_url=s3_url,
            region_name="eu-west-1",
            aws_access_key_id="rehearsal",
            aws_secret_access_key="rehearsal-secret",
        ).create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        shipped = env_file(DEPLOY / "pawfile.env")
        site_values = {
            "PAWFILE_BASE_URL": f"https://localhost:{https_port}",
            "PAWFILE_DATA_DIR": str(folder / "data"),
            "PAWFILE_SECRET_KEY_FILE": str(secrets / "secret_key"),
            "PAWFILE_FIELD_KEYS_FILE": str(secrets / "field_keys"),
            "PAWFILE_METRICS_TOKEN_FILE": str(secrets / "metrics_token"),
            "DATABASE_URL": site_database,
            "REDIS_URL": redis_url,
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": s3_url,
            "S3_ACCESS_KEY_ID": "rehearsal",
            "S3_SECRET_ACCESS_KEY_FILE": str(secrets / "s3_secret"),
            "EMAIL_URL": f"smtp://127.0.0.1:{mail.port}",
            "PAWFILE_BACKUP_DIR": str(folder / "backups"),
        }
        assert set(site_values) == SITE_VALUES and set(shipped) >= SITE_VALUES
        prefix = name.replace("_", "-")
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("PAWFILE_", "DJANGO_", "S3_", "OTEL_"))
                and k not in {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "PYTEST_XDIST_WORKER"}
            },
            **shipped,
            **site_values,
            "PAWFILE_CACHE_PREFIX": prefix,
            "PAWFILE_QUEUE_NAME": prefix,
            **(extra_env or {}),
        }
        (folder / "data").mkdir()
        site = Site(
            url=f"https://localhost:{https_port}",
            ca=ca,
            nodes=ports,
            env=env,
            folder=folder,
            token="",
            pet_ids=[],
            metrics_token=metrics_token,
            database_url=site_database,
            processes=processes,
        )
        migrate = subprocess.run(
            unit_command("pawfile-migrate.service"), env=env, capture_output=True, timeout=300
        )
        if migrate.returncode:
            raise RehearsalError("migrate failed: " + migrate.stderr.decode()[-1500:])
        seeded = subprocess.run(
            [
                sys.executable,
                str(REPO / "bench" / "apidata.py"),
                "--tokens",
                "1",
                "--tokens-file",
                str(folder / "token"),
            ],
            env={**env, "DJANGO_SETTINGS_MODULE": "pawfile.config.settings"},
            capture_output=True,
            timeout=300,
        )
        if seeded.returncode:
            raise RehearsalError("seeding failed: " + seeded.stderr.decode()[-1500:])
        site.pet_ids = json.loads(seeded.stdout.decode().strip().splitlines()[-1])["pet_ids"]
        site.token = (folder / "token").read_text().strip()
        for port in ports:
            site.start_node(port)
        for n in range(1, workers + 1):
            site.start(f"worker-{n}", unit_command("pawfile-worker@.service", str(n)))
        site.start("scheduler", unit_command("pawfile-scheduler.service"))
        upstream = folder / "nginx-upstream.conf"
        upstream.write_text(nginx_upstream(ports))
        (folder / "acme").mkdir()
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
            (folder / "nginx" / sub).mkdir(parents=True)
        site_conf = folder / "nginx-site.conf"
        site_conf.write_text(
            nginx_site(
                http_port=http_port, https_port=https_port, upstream=upstream, cert=cert, key=key
            )
        )
        nd = folder / "nginx"
        (folder / "nginx.conf").write_text(
            f"""user root;
worker_processes 1;
pid {nd}/nginx.pid;
error_log {nd}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {nd}/logs/access.log;
    client_body_temp_path {nd}/body;
    proxy_temp_path {nd}/proxy;
    fastcgi_temp_path {nd}/fastcgi;
    uwsgi_temp_path {nd}/uwsgi;
    scgi_temp_path {nd}/scgi;
    include {site_conf};
}}
"""
        )
        command = [nginx, "-p", str(nd), "-c", str(folder / "nginx.conf")]
        checked = subprocess.run([*command, "-t"], capture_output=True, timeout=30)
        if checked.returncode:
            raise RehearsalError("nginx -t: " + checked.stderr.decode()[-1500:])
        site.start("nginx", [*command, "-g", "daemon off;"])
        deadline = time.monotonic() + 30
        while True:
            try:
                if (
                    httpx.get(
                        site.url + "/health",
                        verify=ssl.create_default_context(cafile=str(ca)),
                        timeout=5,
                    ).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RehearsalError("nginx did not answer: " + site.log_tail("nginx"))
            time.sleep(0.3)
        yield site
    finally:
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        stack.close()
        mail.stop()
        client = redis.Redis.from_url(redis_url)
        for key_name in client.scan_iter(f"*{name.replace('_', '-')}*"):
            client.delete(key_name)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
