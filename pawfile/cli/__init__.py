"""The ``pawfile`` command: run the product in one process, or its parts for scale-out.

pawfile serve            embedded: migrate, web + worker + scheduler, SQLite by default
pawfile web              scale-out web process (run several behind one URL)
pawfile worker           scale-out task worker (``--scheduler`` on exactly one)
pawfile migrate          apply database migrations
pawfile createadmin      create an administrator account
pawfile check            Django system checks (``--deploy`` with production settings)
pawfile backup           write a backup archive (``--verify ARCHIVE`` checks one)
pawfile restore          restore a backup archive into an empty site
pawfile rotate-keys      re-encrypt stored secrets with the first of PAWFILE_FIELD_KEYS
pawfile version          print the version

Starting and stopping the processes (granian, the task consumer, a stop signal) is in
``pawfile/cli/processes.py``; this module parses the command line and runs the commands.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import signal
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from pawfile.cli import processes

SETTINGS = "pawfile.config.settings"


def version() -> str:
    try:
        return metadata.version("pawfile")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()


def _migrate(verbosity: int = 1) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def _bind(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _positive(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return int(value)


def _bind_from_env() -> tuple[str, int]:
    """``PAWFILE_BIND`` as ``(host, port)``; ``ImproperlyConfigured`` when malformed."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        return _bind(os.environ.get("PAWFILE_BIND", "127.0.0.1:8000"))
    except argparse.ArgumentTypeError as exc:
        raise ImproperlyConfigured(f"PAWFILE_BIND: {exc}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    """Embedded mode: one command runs migrations, the web server, worker and scheduler.

    This process (the supervisor) never loads Django: the start-up that needs it (migrations,
    the start-up lines) runs in a child process (``serve-prepare``), then granian's one web
    worker loads the app and runs the task consumer beside it (``processes.wsgi_app_with_tasks``).
    One Django process instead of two: idle RSS of the process tree 331 -> 207 MB
    (``bench/memory.py``). A stop signal at any point ends it (during migrations, once they
    are done); the worker's requests and tasks in flight are given ``SERVE_STOP_GRACE``."""
    report = processes.serve_prepare_run()
    if processes.stop_requested() or (report and report.get("stopped")):
        return 0
    if report is None:
        return 2  # the child printed why
    bind = (str(report["bind"][0]), int(report["bind"][1]))
    threads = args.threads or processes.default_threads()
    server = processes.granian_server(
        bind,
        workers=1,
        threads=threads,
        log_config=report["logging"],
        kill_timeout=processes.SERVE_STOP_GRACE,
    )
    server.serve(target_loader=processes.wsgi_app_with_tasks)
    return 0


def cmd_serve_prepare(args: argparse.Namespace) -> int:
    """The part of ``pawfile serve``'s start-up that needs Django, in a process of its own:
    create the data dir, migrate, print the start-up lines, and write to ``--report-fd`` a
    JSON object: ``{"stopped": true}`` when a stop came, else the address to bind and
    ``settings.LOGGING``. A stop before the migrations begin ends the process at once
    (``processes.quit_on_stop_set``: nothing written yet). Configuration errors end it with 2
    (``main``)."""
    report: dict[str, Any] = {"stopped": True}
    if not processes.stop_requested():
        from django.conf import settings

        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        (settings.DATA_DIR / "media").mkdir(exist_ok=True)
        processes.quit_on_stop_set(False)  # a migration is never cut: a stop now is noted only
        if not processes.stop_requested():
            _migrate(verbosity=0)
        if not processes.stop_requested():
            report = {
                "stopped": False,
                "bind": list(_bind_from_env()),
                "logging": dict(settings.LOGGING),
            }
            _serve_greet()
    with os.fdopen(args.report_fd, "w", encoding="utf-8") as out:
        json.dump(report, out)
    return 0


def _serve_greet() -> None:
    from django.conf import settings

    from pawfile.accounts.firstadmin import setup_link

    url, data = settings.PAWFILE_BASE_URL, settings.DATA_DIR
    print(f"Pawfile {version()} is starting at {url}/  (data in {data})", flush=True)
    link = setup_link()
    if link:
        print(f"No admin yet. Open this one-time link to create one:\n  {link}", flush=True)


def cmd_web(args: argparse.Namespace) -> int:
    """Scale-out web process: no migrations, no worker; any number of them behind one URL."""
    from django.conf import settings

    bind = args.bind or _bind_from_env()
    workers = args.workers or settings.PAWFILE_WEB_WORKERS
    threads = args.threads or settings.PAWFILE_WEB_THREADS
    if processes.stop_requested():
        return 0
    if not _unshared_allowed(workers):
        return 2
    _workers_warn()
    with processes.shared_metrics(workers):
        server = processes.granian_server(
            bind, workers=workers, threads=threads, log_config=settings.LOGGING
        )
        server.serve(target_loader=processes.wsgi_app)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Scale-out task worker; exactly one should run with ``--scheduler``."""
    from django.conf import settings

    from pawfile.ops.tracing import tracing_start

    tracing_start("worker")
    threads = args.threads or settings.PAWFILE_WORKER_THREADS
    consumer = processes.consumer_make(
        threads=threads, scheduler=args.scheduler, grace=processes.WORKER_STOP_GRACE
    )
    start = consumer.start

    def start_then_hand_over_a_stop() -> None:
        start()  # Huey's handlers are in place now; a stop noted before goes to Huey
        if processes.stop_requested():
            os.kill(os.getpid(), signal.SIGINT)

    consumer.start = start_then_hand_over_a_stop
    # SIGINT waits for tasks in flight (WORKER_STOP_GRACE), SIGTERM stops at once (a task cut
    # short runs again when its outbox lease expires)
    consumer.run()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    _migrate()
    return 0


def cmd_createadmin(args: argparse.Namespace) -> int:
    """Create a superuser with a verified email and a household (``admin_create``, as the
    first-admin page does)."""
    from pawfile.accounts.services import admin_create
    from pawfile.lib.errors import ServiceError

    email = (args.email or input("Email: ")).strip().lower()
    if args.password_file:
        with open(args.password_file, encoding="utf-8") as handle:
            password = handle.read().strip()
    elif os.environ.get("PAWFILE_ADMIN_PASSWORD"):
        password = os.environ["PAWFILE_ADMIN_PASSWORD"]
    else:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            print("error: the passwords differ", file=sys.stderr)
            return 2
    try:
        admin_create(email=email, password=password, name=args.name or "")
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(f"Admin {email} created. Log in and set up two-factor authentication to open the admin.")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Run every system check and print every problem found (with ``--deploy``, also
    Django's and Pawfile's production checks, ``pawfile/ops/checks.py``). Exit 1 when one is
    an error; warnings are printed and leave the exit code 0."""
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    try:
        call_command("check", deploy=args.deploy, fail_level="ERROR")
    except SystemCheckError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _unshared_allowed(workers: int) -> bool:
    """Whether ``pawfile web`` may start: not when its processes, or the nodes of a scale-out
    site, would share no cache or no files (``pawfile.ops.checks.unshared_reasons``), unless
    ``PAWFILE_ALLOW_UNSHARED`` (``--allow-unshared``) says to. The refusal is printed."""
    from django.conf import settings

    from pawfile.ops.checks import unshared_reasons

    reasons = unshared_reasons(workers)
    if not reasons or settings.PAWFILE_ALLOW_UNSHARED:
        return True
    print(
        "pawfile web refused to start: scale-out needs REDIS_URL and shared file storage "
        "(PAWFILE_STORAGE=s3 with S3_BUCKET...).\n"
        + "".join(f"  - {reason}\n" for reason in reasons)
        + "Set them (docs/operations.md, 'Scale out'); or run one worker on SQLite "
        "(pawfile serve); or, if this is the only node or every node mounts the same data "
        "dir, start with --allow-unshared (PAWFILE_ALLOW_UNSHARED=1).",
        file=sys.stderr,
        flush=True,
    )
    return False


def _workers_warn() -> None:
    """Print the deployment warning about several web workers without Redis, if it applies
    (``pawfile.W003``); the server starts anyway."""
    from django.core.checks import run_checks

    from pawfile.ops.checks import TAG_WORKERS

    for issue in run_checks(tags=[TAG_WORKERS], include_deployment_checks=True):
        print(f"Warning: {issue.msg} {issue.hint or ''}".rstrip(), file=sys.stderr, flush=True)


def cmd_backup(args: argparse.Namespace) -> int:
    from pawfile.ops.backup.commands import backup_command

    return backup_command(args)


def cmd_restore(args: argparse.Namespace) -> int:
    from pawfile.ops.backup.commands import restore_command

    return restore_command(args)


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    """Re-encrypt every stored secret with the first key of ``PAWFILE_FIELD_KEYS``."""
    from pawfile.lib.crypto import FieldDecryptError, fields_rotate

    try:
        done = fields_rotate()
    except FieldDecryptError as exc:
        print(f"pawfile: {exc}", file=sys.stderr)
        return 1
    total = sum(done.values())
    for label, count in done.items():
        print(f"  {label}: {count}")
    print(
        f"Re-encrypted {total} values in {len(done)} fields with the first key. "
        "Keys after the first can now be removed from PAWFILE_FIELD_KEYS."
    )
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    print(f"pawfile {version()}")
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="pawfile",
        description="Pawfile, the self-hostable pet-care platform. Settings come from the "
        "environment and a .env file in the working directory (see .env.example).",
    )
    sub = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(func=func)
        return command

    serve = add(
        "serve",
        cmd_serve,
        "Run everything in one process group on one port (embedded mode): "
        "migrations, web server, task worker and scheduler.",
    )
    serve.add_argument(
        "--bind", type=_bind, help="HOST:PORT to listen on (default PAWFILE_BIND or 127.0.0.1:8000)"
    )
    serve.add_argument(
        "--threads",
        type=_positive,
        help="request threads (default twice the CPUs plus one, at most 8)",
    )

    prepare = sub.add_parser("serve-prepare")  # pawfile serve's child; no help: not listed
    prepare.set_defaults(func=cmd_serve_prepare)
    prepare.add_argument("--report-fd", type=int, required=True)

    web = add("web", cmd_web, "Run a web process for scale-out (no migrations, no worker).")
    web.add_argument(
        "--bind", type=_bind, help="HOST:PORT to listen on (default PAWFILE_BIND or 127.0.0.1:8000)"
    )
    web.add_argument(
        "--workers",
        type=_positive,
        help="worker processes (default PAWFILE_WEB_WORKERS or 1)",
    )
    web.add_argument(
        "--threads",
        type=_positive,
        help="request threads per worker (default PAWFILE_WEB_THREADS, else twice the CPUs "
        "plus one, at most 8)",
    )
    web.add_argument(
        "--allow-unshared",
        action="store_true",
        help="start even without Redis or shared file storage where several processes or "
        "nodes need them (PAWFILE_ALLOW_UNSHARED; check --deploy warns)",
    )

    worker = add("worker", cmd_worker, "Run a task worker for scale-out.")
    worker.add_argument(
        "--scheduler",
        action="store_true",
        help="also run periodic tasks (exactly one worker should)",
    )
    worker.add_argument(
        "--threads", type=_positive, help="worker threads (default PAWFILE_WORKER_THREADS)"
    )

    add("migrate", cmd_migrate, "Apply database migrations.")

    admin = add("createadmin", cmd_createadmin, "Create an administrator account.")
    admin.add_argument("--email", help="the admin's email (asked when missing)")
    admin.add_argument("--name", help="the admin's name")
    admin.add_argument(
        "--password-file",
        help="read the password from this file (else PAWFILE_ADMIN_PASSWORD, else asked)",
    )

    check = add("check", cmd_check, "Run the system checks; --deploy checks production settings.")
    check.add_argument(
        "--deploy",
        action="store_true",
        help="check with PAWFILE_ENV=production (needs PAWFILE_SECRET_KEY and PAWFILE_BASE_URL)",
    )

    backup = add(
        "backup",
        cmd_backup,
        "Write a backup archive of the database and stored files (safe while serving).",
    )
    backup.add_argument(
        "--to", help="folder or s3://BUCKET/PREFIX/ for the archive (default PAWFILE_BACKUP_DIR)"
    )
    backup.add_argument(
        "--encrypt-to",
        metavar="AGE_RECIPIENT",
        help="age recipient (age1...) to encrypt to (default PAWFILE_BACKUP_ENCRYPT_TO)",
    )
    backup.add_argument(
        "--verify", metavar="ARCHIVE", help="check an archive (file or s3://…); restore nothing"
    )
    backup.add_argument("--identity", metavar="KEYFILE", help="age key file for --verify")
    restore = add(
        "restore", cmd_restore, "Restore a backup archive into an empty site (Pawfile stopped)."
    )
    restore.add_argument("archive", metavar="ARCHIVE", help="a file or s3://BUCKET/KEY")
    restore.add_argument("--identity", metavar="KEYFILE", help="age key file (encrypted archive)")
    restore.add_argument(
        "--force", action="store_true", help="replace the database and files the site holds"
    )
    add(
        "rotate-keys",
        cmd_rotate_keys,
        "Re-encrypt stored secrets with the first key of PAWFILE_FIELD_KEYS.",
    )

    add("version", cmd_version, "Print the version.")
    return main


def main(argv: Sequence[str] | None = None) -> int:
    from pawfile.lib.malloc import malloc_tune

    malloc_tune()  # large blocks go back to the system when freed (lib/malloc)
    args = parser().parse_args(argv)
    if args.command == "version":
        return cmd_version(args)
    if args.command == "check" and args.deploy:
        os.environ["PAWFILE_ENV"] = "production"
    if getattr(args, "bind", None):
        os.environ["PAWFILE_BIND"] = "{}:{}".format(*args.bind)
    if args.command == "web" and args.workers:
        os.environ["PAWFILE_WEB_WORKERS"] = str(args.workers)  # the settings (and checks) see it
    if getattr(args, "allow_unshared", False):
        os.environ["PAWFILE_ALLOW_UNSHARED"] = "1"
    from django.core.exceptions import ImproperlyConfigured

    running = args.command in {"serve", "web", "worker"}
    if args.command == "serve-prepare":
        processes.quit_on_stop_set(True)
    if running or args.command == "serve-prepare":
        # from the first moment: a stop during start-up is a stop (serve-prepare starts
        # with the stop signals blocked until here: processes.serve_prepare_run)
        processes.take_stop_signals(relay=args.command != "worker")
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM))
    if args.command == "serve":  # Django is loaded by its children only (cmd_serve)
        code = cmd_serve(args)
        if code == 0:
            print("Stopped.", flush=True)
            from pawfile.lib.stopsignal import exit_now_when_stopped

            exit_now_when_stopped(code)
        return code
    try:
        if args.command != "restore":
            # before the apps load (the task queue opens its file then): a wrong
            # PAWFILE_DB_KEY is a message, not a traceback (a restore --force may replace an
            # unreadable database)
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
            from pawfile.lib.sqlcipher import database_open_check

            database_open_check()
        _setup()
        code = int(args.func(args))
    except ImproperlyConfigured as exc:
        print(f"pawfile: configuration error: {exc}", file=sys.stderr)
        return 2
    if running:
        print("Stopped.", flush=True)
        if args.command != "worker":
            from pawfile.lib.stopsignal import exit_now_when_stopped

            exit_now_when_stopped(code)
    return code
