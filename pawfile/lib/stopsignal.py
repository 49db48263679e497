"""Stop signals (SIGINT, SIGTERM) that always reach the main thread of a server process.

Python runs signal handlers only in the main thread, between two bytecodes. The kernel may give
a signal sent to a process to any of its threads that does not block it. When it lands on a
thread Python did not start (granian's Rust threads) while the main thread sleeps in a lock
wait, the handler is only marked as due and never runs: measured with ``pawfile serve`` and
Ctrl-C (SIGINT to the whole process group, then SIGTERM from granian's supervisor to its
worker), four stops out of six left the worker serving until it was killed. The relay wakes
the main thread: the C-level handler writes every signal number to a wake-up socket
(``signal.set_wakeup_fd``) whichever thread received it, and a daemon thread sends each stop
signal once to the main thread (``signal.pthread_kill``), which interrupts its wait so the
handler runs.

A handler may therefore run twice for one signal (once when the main thread got it, once from
the relay); the handlers used with it (granian's, ``pawfile.cli``'s) set a flag and are
idempotent. Not for Huey's consumer, which treats a second SIGINT as "stop now" (its main loop
wakes every 0.1 s anyway, so it needs no relay).

The relay also sets ``stopping``, which ``wsgi_closing_when_stopping`` uses to end kept-alive
connections: granian's worker, once told to stop, no longer accepts connections but goes on
serving the ones open until they close, so a client that keeps its connection busy kept the
worker alive until killed, cutting the requests in flight. Answering with ``Connection:
close`` once the stop is known lets every request in flight be answered, and the client's
next one be refused (the listener is closed).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
stopping = threading.Event()

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def stop_signal_relay_start() -> None:
    """Relay SIGINT and SIGTERM to the main thread, each once, whichever thread receives them.

    Takes nothing; call it from the main thread (``set_wakeup_fd`` requires it), once per
    process, before other threads start. Returns nothing; the relay thread is a daemon. Only
    signals with a Python-level handler are seen (the C handler writes the wake-up socket).
    Raises ``ValueError`` when called from another thread.
    """
    receiver, sender = socket.socketpair()
    sender.setblocking(False)
    signal.set_wakeup_fd(sender.fileno(), warn_on_full_buffer=False)
    main = threading.main_thread().ident
    assert main is not None

    def relay() -> None:
        relayed: set[int] = set()
        while len(relayed) < len(STOP_SIGNALS):
            for signum in receiver.recv(64):
                if signum in STOP_SIGNALS and signum not in relayed:
                    stopping.set()
                    relayed.add(signum)
                    try:
                        signal.pthread_kill(main, signum)
                    except (OSError, ValueError):  # the main thread is gone: nothing to wake
                        return

    threading.Thread(target=relay, name="stop-signal-relay", daemon=True).start()
    # keep both ends open for the life of the process
    _keep.extend((receiver, sender))


_keep: list[socket.socket] = []


def granian_worker_stop_once() -> bool:
    """Make the stop handler that granian's WSGI worker installs act on the first stop signal
    only. Call it in the worker, before granian sets its handlers (from the app loader).

    Why: granian's handler calls ``WorkerSignal.set()``, a blocking send on a channel of one
    place that holds the GIL while it waits. Its accept loop takes the first message; a
    second fills the place; a third waits for ever, and with it every Python thread of the
    worker (requests in flight, the QR scan flush). One stop brings the handler up to three
    times: Ctrl-C reaches the worker with the group, granian's supervisor then sends SIGTERM,
    and the relay above sends each again unless the kernel merged it with one still pending.
    Measured under a 12-connection load on ``pawfile serve``: the third call hung the worker
    until it was killed at ``WEB_STOP_GRACE`` in about one stop out of seven.

    Takes nothing. Returns True when granian's ``_signals.set_sync_signals`` (the function
    its WSGI worker calls) was found and replaced by one that installs the same handler for
    the same signals behind a once-only guard; False (nothing changed) when granian is
    missing or no longer has it. Raises nothing."""
    try:
        from granian import _signals
        from granian._granian import WorkerSignal
    except ImportError:
        return False
    if not callable(getattr(_signals, "set_sync_signals", None)):
        return False

    def set_sync_signals() -> Any:
        event = WorkerSignal()
        once = threading.Lock()

        def handler(signum: int, frame: object) -> None:
            # a non-blocking acquire is atomic: a handler run between two bytecodes of
            # this one cannot pass the guard too
            if once.acquire(blocking=False):
                stopping.set()
                event.set()

        for signum in STOP_SIGNALS:
            signal.signal(signum, handler)
        return event

    _signals.set_sync_signals = set_sync_signals
    return True


def wsgi_closing_when_stopping(app: WSGIApp) -> WSGIApp:
    """``app``, answering with ``Connection: close`` once ``stopping`` is set (in a process
    where ``stop_signal_relay_start`` ran). Takes and returns a WSGI callable; raises nothing
    of its own. (``Connection`` is a hop-by-hop header PEP 3333 leaves to the server; granian
    passes it on to the HTTP layer, which then closes the connection after the response.)"""

    def closing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not stopping.is_set():
            return app(environ, start_response)

        def start_closing(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            return start_response(status, [*headers, ("Connection", "close")], *exc_info)

        return app(environ, start_closing)

    return closing


def exit_now_when_stopped(code: int = 0) -> None:
    """At interpreter exit after a stop signal, end the process at once with ``code``.

    Takes the exit code; returns (doing nothing) when no stop signal was seen, so a crash
    keeps its own code and full clean-up. Measured on a web worker and ``pawfile serve``:
    finalizing the interpreter of a Django process (collecting its heap, tearing modules down
    while granian's Rust threads still hold references) took 1–4 s after the work was done,
    most of the time a stop took. Output is flushed and logging shut down first; the database
    needs nothing (SQLite's journal and PostgreSQL's server side survive a process end).
    Register it with ``atexit`` after logging is configured, so it runs first."""
    if not stopping.is_set():
        return
    import logging
    import os
    import sys

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or gone: nothing to write
            stream.flush()
    os._exit(code)
