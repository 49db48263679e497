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
import re
import shlex
import ssl
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.cluster import PAWFILE, Cluster, free_port, process_env, services_cluster

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
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
    """A running rehearsal: ``url`` is nginx's https address, ``nodes`` the web ports;
    ``cluster`` holds its processes (nginx, the nodes, the workers, the scheduler)."""

    url: str
    ca: Path
    nodes: list[int]
    cluster: Cluster
    token: str
    pet_ids: list[int]
    metrics_token: str

    @property
    def env(self) -> dict[str, str]:
        return self.cluster.env

    @property
    def database_url(self) -> str:
        return self.cluster.database_url

    def start_node(self, port: int) -> None:
        command = unit_command("pawfile-web@.service", str(port))
        self.cluster.start(f"web-{port}", command, url=f"http://127.0.0.1:{port}")
        self.cluster.up(f"web-{port}", timeout=60, ready=(200, 503))

    def kill(self, name: str) -> None:
        """``kill -9`` of the process and every process it started (its session)."""
        self.cluster.kill(name)

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
        return self.cluster.log_tail(name, size)


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


def secrets_written(folder: Path) -> str:
    """The secrets' files the shipped env names (``*_FILE``); returns the metrics token."""
    from cryptography.fernet import Fernet

    secrets = folder / "secrets"
    secrets.mkdir(parents=True)
    metrics_token = uuid.uuid4().hex
    (secrets / "secret_key").write_text("rehearsal-" + uuid.uuid4().hex * 2)
    (secrets / "field_keys").write_text(Fernet.generate_key().decode())
    (secrets / "metrics_token").write_text(metrics_token)
    (secrets / "s3_secret").write_text("rehearsal-secret")
    return metrics_token


def bucket_made(s3_url: str) -> str:
    """The site's bucket on the local S3 server; returns its name."""
    import boto3

    bucket = "pawfile-rehearsal"
    client = boto3.client(
        "s3",
        endpoint_url=s3_url,
        region_name="eu-west-1",
        aws_access_key_id="rehearsal",
        aws_secret_access_key="rehearsal-secret",
    )
    # The bench makes a site per node count on one S3 server: the bucket may be there.
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    return bucket


def site_seeded(cluster: Cluster) -> tuple[str, list[int]]:
    """Migrated (the migrate unit) and seeded with ``bench/apidata.py``: (token, pet ids)."""
    try:
        cluster.run(unit_command("pawfile-migrate.service"))
    except AssertionError as exc:
        raise RehearsalError(f"migrate failed: {exc}") from None
    token_file = cluster.folder / "token"
    command = [sys.executable, str(REPO / "bench" / "apidata.py"), "--tokens", "1"]
    try:
        seeded = cluster.run(
            [*command, "--tokens-file", str(token_file)],
            env={"DJANGO_SETTINGS_MODULE": "pawfile.config.settings"},
        )
    except AssertionError as exc:
        raise RehearsalError(f"seeding failed: {exc}") from None
    pet_ids = json.loads(seeded.stdout.decode().strip().splitlines()[-1])["pet_ids"]
    return token_file.read_text().strip(), pet_ids


def nginx_started(cluster: Cluster, *, ports: list[int], http_port: int, https_port: int) -> None:
    """nginx with the shipped site in front of ``ports``, as process ``nginx``; returns once it
    answers ``/health`` over TLS (with the rehearsal's CA, written in ``cluster.folder``)."""
    folder = cluster.folder
    nginx = "/usr/sbin/nginx"
    ca, cert, key = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    upstream = folder / "nginx-upstream.conf"
    upstream.write_text(nginx_upstream(ports))
    (folder / "acme").mkdir()
    nd = folder / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
        (nd / sub).mkdir(parents=True)
    site_conf = folder / "nginx-site.conf"
    site_conf.write_text(
        nginx_site(
            http_port=http_port, https_port=https_port, upstream=upstream, cert=cert, key=key
        )
    )
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
    try:
        cluster.run([*command, "-t"], timeout=30)
    except AssertionError as exc:
        raise RehearsalError(f"nginx -t: {exc}") from None
    cluster.start("nginx", [*command, "-g", "daemon off;"])
    tls = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + 30
    while True:
        try:
            url = f"https://localhost:{https_port}/health"
            if httpx.get(url, verify=tls, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RehearsalError("nginx did not answer: " + cluster.log_tail("nginx"))
        time.sleep(0.3)


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
    scheduler behind nginx. Everything made is removed on exit (processes, database, Redis
    keys: ``tests/cluster.py``). ``extra_env`` is added on top (the benchmark lifts the API
    rate limits with it)."""
    from tests.smtp import MailServer

    if not Path("/usr/sbin/nginx").exists():
        raise RehearsalError("nginx is missing: apt-get install nginx-light (make browser does)")
    metrics_token = secrets_written(folder)
    secrets = folder / "secrets"
    ca, _, _ = certificate(folder)
    http_port, https_port = free_port(), free_port()
    ports = [free_port() for _ in range(nodes)]
    mail = MailServer()
    mail.start()
    try:
        with (
            s3_server() as s3_url,
            services_cluster(
                folder, label="rehearsal", database_url=database_url, redis_url=redis_url
            ) as cluster,
        ):
            site_values = {
                "PAWFILE_BASE_URL": f"https://localhost:{https_port}",
                "PAWFILE_DATA_DIR": str(folder / "data"),
                "PAWFILE_SECRET_KEY_FILE": str(secrets / "secret_key"),
                "PAWFILE_FIELD_KEYS_FILE": str(secrets / "field_keys"),
                "PAWFILE_METRICS_TOKEN_FILE": str(secrets / "metrics_token"),
                "DATABASE_URL": cluster.database_url,
                "REDIS_URL": redis_url,
                "S3_BUCKET": bucket_made(s3_url),
                "S3_ENDPOINT_URL": s3_url,
                "S3_ACCESS_KEY_ID": "rehearsal",
                "S3_SECRET_ACCESS_KEY_FILE": str(secrets / "s3_secret"),
                "EMAIL_URL": f"smtp://127.0.0.1:{mail.port}",
                "PAWFILE_BACKUP_DIR": str(folder / "backups"),
            }
            shipped = env_file(DEPLOY / "pawfile.env")
            assert set(site_values) == SITE_VALUES and set(shipped) >= SITE_VALUES
            # the shipped text, what names this machine, and this run's own Redis keys
            isolation = {name: cluster.env[name] for name in ISOLATION}
            cluster.env = process_env({**shipped, **site_values, **isolation, **(extra_env or {})})
            (folder / "data").mkdir()
            token, pet_ids = site_seeded(cluster)
            site = Site(
                url=f"https://localhost:{https_port}",
                ca=ca,
                nodes=ports,
                cluster=cluster,
                token=token,
                pet_ids=pet_ids,
                metrics_token=metrics_token,
            )
            for port in ports:
                site.start_node(port)
            for n in range(1, workers + 1):
                cluster.start(f"worker-{n}", unit_command("pawfile-worker@.service", str(n)))
            cluster.start("scheduler", unit_command("pawfile-scheduler.service"))
            nginx_started(cluster, ports=ports, http_port=http_port, https_port=https_port)
            yield site
    finally:
        mail.stop()
