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
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import getpass
import importlib
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

SETTINGS = "pawfile.config.settings"
# A stop (Ctrl-C, SIGTERM) must end every process within 10 s: granian gives a web worker's
# requests in flight this long before it kills the worker; the task consumer gets
# CONSUMER_STOP_GRACE for tasks in flight (``pawfile serve``, where it runs in the web worker,
# at the same time as the requests finish: SERVE_STOP_GRACE covers both; a lone ``pawfile
# worker`` gets WORKER_STOP_GRACE). A task cut short is safe: the outbox lease expires and it
# runs again.
WEB_STOP_GRACE = 4
CONSUMER_STOP_GRACE = 3.0
SERVE_STOP_GRACE = WEB_STOP_GRACE + 1
WORKER_STOP_GRACE = 8.0


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


# A stop signal that came before the web server or the consumer took the signals over: the
# start-up is not interrupted (half-imported modules, a migration cut short) but checked at
# its ends, and handed to the server or consumer as soon as it listens.
_stop_requested = False
# ``pawfile serve-prepare`` until its migrations begin: a stop ends it at once (it has written
# nothing; its Django start-up under load took seconds of the 10 a stop may take).
_quit_on_stop = False


def _note_stop(signum: int, frame: object) -> None:
    global _stop_requested
    _stop_requested = True
    if _quit_on_stop:
        os._exit(0)


def _take_stop_signals(*, relay: bool) -> None:
    """From start-up on, SIGINT and SIGTERM only note the stop (``_stop_requested``); with
    ``relay``, whichever thread the kernel hands them to (not for Huey's consumer: see
    ``pawfile.lib.stopsignal``)."""
    from pawfile.lib.stopsignal import STOP_SIGNALS, stop_signal_relay_start

    for signum in STOP_SIGNALS:
        signal.signal(signum, _note_stop)
    if relay:
        stop_signal_relay_start()


def _wsgi_app(target: str) -> Any:
    """The app granian's worker serves, loaded in the worker's main thread before granian sets
    its signal handlers. Ctrl-C (SIGINT to the whole group) is ignored until then: the
    supervisor got it too and stops the worker with SIGTERM (a KeyboardInterrupt in the middle
    of Django's start-up would only print a traceback). The stop-signal relay starts first:
    granian's worker waits for its stop in a lock wait a signal may not interrupt. Once the
    stop is known, responses close their connection (``wsgi_closing_when_stopping``), so the
    worker drains. Granian's handler acts on the first stop signal only
    (``granian_worker_stop_once``: a third call hung the worker). ``target`` is the
    ``module:attribute`` path granian was given."""
    from pawfile.lib.malloc import malloc_tune
    from pawfile.lib.stopsignal import (
        exit_now_when_stopped,
        granian_worker_stop_once,
        stop_signal_relay_start,
        wsgi_closing_when_stopping,
    )

    malloc_tune()  # the worker is a process of its own (lib/malloc)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop_signal_relay_start()
    granian_worker_stop_once()
    module, _, name = target.partition(":")  # loaded by its path, as granian would
    application = getattr(importlib.import_module(module), name)
    atexit.register(exit_now_when_stopped)
    return wsgi_closing_when_stopping(application)


def _granian(
    bind: tuple[str, int],
    workers: int,
    threads: int,
    *,
    log_config: dict[str, Any],
    kill_timeout: int = WEB_STOP_GRACE,
) -> Any:
    """A granian server for the Django WSGI app, logging as ``log_config`` (``settings.LOGGING``)
    says. Workers are spawned, not forked: each loads Django itself (the ``pawfile serve``
    supervisor never does). On a stop, a worker still busy after ``kill_timeout`` seconds (a
    request that never ends, a client that holds its connection) is killed; a write the worker
    acknowledged is committed already."""
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    if multiprocessing.get_start_method(allow_none=True) != "spawn":
        multiprocessing.set_start_method("spawn", force=True)
    from pawfile.ops.logging import dictconfig

    level = str(log_config.get("level", "INFO")).lower()
    server = Server(
        "pawfile.config.wsgi:application",
        address=bind[0],
        port=bind[1],
        interface=Interfaces.WSGI,
        websockets=False,  # WSGI has none; saying so at every start is noise
        workers=workers,
        blocking_threads=threads,
        log_level=LogLevels(level) if level in {lv.value for lv in LogLevels} else LogLevels.info,
        log_access=False,
        log_dictconfig=dictconfig(log_config),
        respawn_failed_workers=True,
        workers_kill_timeout=kill_timeout,
    )

    @server.on_startup
    def stop_if_asked() -> None:
        # granian's handlers are in place now; a stop noted before goes to granian
        if _stop_requested:
            server.signal_handler_interrupt()

    return server


def _consumer(*, threads: int, scheduler: bool, grace: float) -> Any:
    """A Huey consumer that knows every app's tasks (``<app>.tasks`` modules are imported:
    a task name missing from the registry would make the worker drop the message). A graceful
    stop waits ``grace`` seconds for tasks in flight."""
    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")
    return HUEY.create_consumer(
        workers=threads,
        worker_type="thread",
        periodic=scheduler,
        check_worker_health=True,
        shutdown_timeout=grace,
    )


def _consumer_start(consumer: Any) -> None:
    """Start the embedded consumer's threads with the stop signals blocked: the threads
    inherit the mask, so a stop signal never lands on one of them; Huey's own handlers (meant
    for a consumer that owns the process) are replaced by the ones in place before, before a
    held signal is let through."""
    from pawfile.lib.stopsignal import STOP_SIGNALS

    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        consumer.start()
        for signum, handler in before.items():
            signal.signal(signum, handler)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _consumer_stop(consumer: Any) -> None:
    print("Stopping: finishing tasks in flight...", flush=True)
    consumer.stop(graceful=True)
    consumer.huey.notify_interrupted_tasks()


def _wsgi_app_with_tasks(target: str) -> Any:
    """``_wsgi_app`` for the web worker of ``pawfile serve``, which also runs the task consumer
    (worker threads and scheduler): one Django process for the whole product. The consumer
    starts once the app is loaded, and stops as soon as the process knows of a stop (tasks in
    flight get ``CONSUMER_STOP_GRACE`` while the requests in flight finish), or at exit. A
    worker granian respawns after a crash starts a consumer of its own."""
    from django.conf import settings

    from pawfile.lib.stopsignal import stopping

    application = _wsgi_app(target)
    consumer = _consumer(
        threads=settings.PAWFILE_WORKER_THREADS, scheduler=True, grace=CONSUMER_STOP_GRACE
    )
    _consumer_start(consumer)
    stopped = threading.Event()

    def stop_when_stopping() -> None:
        stopping.wait()
        _consumer_stop(consumer)
        stopped.set()

    def stop_at_exit() -> None:
        if stopping.is_set():
            stopped.wait(CONSUMER_STOP_GRACE + 1)
        else:  # an exit without a stop signal: stop here
            _consumer_stop(consumer)

    threading.Thread(target=stop_when_stopping, name="tasks-stop", daemon=True).start()
    atexit.register(stop_at_exit)  # after _wsgi_app's os._exit handler: runs before it
    return application


def _default_threads() -> int:
    # granian warns above 2 x CPUs + 1 threads per worker; 8 at most
    return min(8, 2 * (os.cpu_count() or 1) + 1)


def cmd_serve(args: argparse.Namespace) -> int:
    """Embedded mode: one command runs migrations, the web server, worker and scheduler.

    This process (the supervisor) never loads Django: the start-up that needs it (migrations,
    the start-up lines) runs in a child process (``serve-prepare``), then granian's one web
    worker loads the app and runs the task consumer beside it (``_wsgi_app_with_tasks``).
    One Django process instead of two: idle RSS of the process tree 331 -> 207 MB
    (``bench/memory.py``). A stop signal at any point ends it (during migrations, once they
    are done); the worker's requests and tasks in flight are given ``SERVE_STOP_GRACE``."""
    report = _serve_prepare_run()
    if _stop_requested or (report and report.get("stopped")):
        return 0
    if report is None:
        return 2  # the child printed why
    bind = (str(report["bind"][0]), int(report["bind"][1]))
    threads = args.threads or _default_threads()
    server = _granian(
        bind,
        workers=1,
        threads=threads,
        log_config=report["logging"],
        kill_timeout=SERVE_STOP_GRACE,
    )
    server.serve(target_loader=_wsgi_app_with_tasks)
    return 0


def _serve_prepare_run() -> dict[str, Any] | None:
    """Run ``pawfile serve-prepare`` in a child process (same process group: Ctrl-C reaches it
    and it finishes its migration before stopping); its report, or None when it failed.
    The child starts with the stop signals blocked (the mask is inherited): one that comes
    while its interpreter starts waits until ``main`` has its handler in place."""
    from pawfile.lib.stopsignal import STOP_SIGNALS

    reader, writer = os.pipe()
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            child = subprocess.Popen(  # noqa: S603 - this interpreter, arguments built here
                [sys.executable, "-m", "pawfile.cli", "serve-prepare", "--report-fd", str(writer)],
                pass_fds=(writer,),
            )
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        os.close(writer)
        writer = -1
        with os.fdopen(reader, encoding="utf-8") as pipe:
            reader = -1
            text = pipe.read()
        code = child.wait()
    finally:
        for fd in (reader, writer):
            if fd >= 0:
                os.close(fd)
    if code != 0 or not text:
        return None
    report: dict[str, Any] = json.loads(text)
    return report


def cmd_serve_prepare(args: argparse.Namespace) -> int:
    """The part of ``pawfile serve``'s start-up that needs Django, in a process of its own:
    create the data dir, migrate, print the start-up lines, and write to ``--report-fd`` a
    JSON object: ``{"stopped": true}`` when a stop came, else the address to bind and
    ``settings.LOGGING``. A stop before the migrations begin ends the process at once
    (``_quit_on_stop``: nothing written yet). Configuration errors end it with 2 (``main``)."""
    global _quit_on_stop
    report: dict[str, Any] = {"stopped": True}
    if not _stop_requested:
        from django.conf import settings

        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        (settings.DATA_DIR / "media").mkdir(exist_ok=True)
        _quit_on_stop = False  # a migration is never cut: a stop now is noted only
        if not _stop_requested:
            _migrate(verbosity=0)
        if not _stop_requested:
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
    if _stop_requested:
        return 0
    if not _unshared_allowed(workers):
        return 2
    _workers_warn()
    with _shared_metrics(workers):
        server = _granian(bind, workers=workers, threads=threads, log_config=settings.LOGGING)
        server.serve(target_loader=_wsgi_app)
    return 0


@contextlib.contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh folder in ``PROMETHEUS_MULTIPROC_DIR`` for the workers
    (spawned after this, so they inherit it) to count requests in together; removed after.
    A folder the operator set is kept, emptied of the last run's counts (as prometheus_client
    requires); with one worker nothing is done."""
    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if workers < 2:
        yield
        return
    if chosen:
        folder_path = Path(chosen)
        folder_path.mkdir(parents=True, exist_ok=True)
        for stale in folder_path.glob("*.db"):
            stale.unlink(missing_ok=True)
        yield
        return
    folder = tempfile.mkdtemp(prefix="pawfile-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)


def cmd_worker(args: argparse.Namespace) -> int:
    """Scale-out task worker; exactly one should run with ``--scheduler``."""
    from django.conf import settings

    from pawfile.ops.tracing import tracing_start

    tracing_start("worker")
    threads = args.threads or settings.PAWFILE_WORKER_THREADS
    consumer = _consumer(threads=threads, scheduler=args.scheduler, grace=WORKER_STOP_GRACE)
    start = consumer.start

    def start_then_hand_over_a_stop() -> None:
        start()  # Huey's handlers are in place now; a stop noted before goes to Huey
        if _stop_requested:
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
        global _quit_on_stop
        _quit_on_stop = True
    if running or args.command == "serve-prepare":
        # from the first moment: a stop during start-up is a stop (serve-prepare starts
        # with the stop signals blocked until here: _serve_prepare_run)
        _take_stop_signals(relay=args.command != "worker")
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


if __name__ == "__main__":
    sys.exit(main())
