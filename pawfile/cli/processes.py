"""Running the product's processes: the granian web server, the task consumer, and a stop.

``pawfile serve``, ``pawfile web`` and ``pawfile worker`` (``pawfile/cli/__init__.py``) start
their processes through this module: granian with the Django WSGI app (``wsgi_app``, or
``wsgi_app_with_tasks`` for ``serve``, whose one web worker also runs the task consumer and
scheduler), Huey's consumer (``consumer_make``), the ``serve-prepare`` child that migrates
before the server starts (``serve_prepare_run``) and the shared metrics folder of several web
workers (``shared_metrics``).

A stop (SIGINT, SIGTERM) noted before the server or the consumer took the signals over is kept
here (``stop_requested``) and handed to them as soon as they listen (``take_stop_signals``).
"""

from __future__ import annotations

import atexit
import contextlib
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# A stop signal that came before the web server or the consumer took the signals over: the
# start-up is not interrupted (half-imported modules, a migration cut short) but checked at
# its ends, and handed to the server or consumer as soon as it listens.
_stop_requested = False
# ``pawfile serve-prepare`` until its migrations begin: a stop ends it at once (it has written
# nothing; its Django start-up under load took seconds of the 10 a stop may take).
_quit_on_stop = False


def note_stop(signum: int, frame: object) -> None:
    global _stop_requested
    _stop_requested = True
    if _quit_on_stop:
        os._exit(0)


def stop_requested() -> bool:
    """Whether a stop signal came before the server or the consumer took the signals over."""
    return _stop_requested


def quit_on_stop_set(value: bool) -> None:
    """Whether a stop ends this process at once (``serve-prepare`` before its migrations)."""
    global _quit_on_stop
    _quit_on_stop = value


def take_stop_signals(*, relay: bool) -> None:
    """From start-up on, SIGINT and SIGTERM only note the stop (``_stop_requested``); with
    ``relay``, whichever thread the kernel hands them to (not for Huey's consumer: see
    ``pawfile.lib.stopsignal``)."""
    from pawfile.lib.stopsignal import STOP_SIGNALS, stop_signal_relay_start

    for signum in STOP_SIGNALS:
        signal.signal(signum, note_stop)
    if relay:
        stop_signal_relay_start()


def wsgi_app(target: str) -> Any:
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


def granian_server(
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


def consumer_make(*, threads: int, scheduler: bool, grace: float) -> Any:
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


def consumer_start(consumer: Any) -> None:
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


def consumer_stop(consumer: Any) -> None:
    print("Stopping: finishing tasks in flight...", flush=True)
    consumer.stop(graceful=True)
    consumer.huey.notify_interrupted_tasks()


def wsgi_app_with_tasks(target: str) -> Any:
    """``wsgi_app`` for the web worker of ``pawfile serve``, which also runs the task consumer
    (worker threads and scheduler): one Django process for the whole product. The consumer
    starts once the app is loaded, and stops as soon as the process knows of a stop (tasks in
    flight get ``CONSUMER_STOP_GRACE`` while the requests in flight finish), or at exit. A
    worker granian respawns after a crash starts a consumer of its own."""
    from django.conf import settings

    from pawfile.lib.stopsignal import stopping

    application = wsgi_app(target)
    consumer = consumer_make(
        threads=settings.PAWFILE_WORKER_THREADS, scheduler=True, grace=CONSUMER_STOP_GRACE
    )
    consumer_start(consumer)
    stopped = threading.Event()

    def stop_when_stopping() -> None:
        stopping.wait()
        consumer_stop(consumer)
        stopped.set()

    def stop_at_exit() -> None:
        if stopping.is_set():
            stopped.wait(CONSUMER_STOP_GRACE + 1)
        else:  # an exit without a stop signal: stop here
            consumer_stop(consumer)

    threading.Thread(target=stop_when_stopping, name="tasks-stop", daemon=True).start()
    atexit.register(stop_at_exit)  # after wsgi_app's os._exit handler: runs before it
    return application


def default_threads() -> int:
    # granian warns above 2 x CPUs + 1 threads per worker; 8 at most
    return min(8, 2 * (os.cpu_count() or 1) + 1)


def serve_prepare_run() -> dict[str, Any] | None:
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


@contextlib.contextmanager
def shared_metrics(workers: int) -> Iterator[None]:
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
