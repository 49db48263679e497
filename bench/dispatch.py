"""Reminder dispatch benchmark: N reminders due at once, fired and mailed to an SMTP sink.

    .venv/bin/python bench/dispatch.py [--due 100000] [--households 1000] [--workers 2]
                                       [--threads 1] [--sample 250] [--sink lean|aiosmtpd]
                                       [--timeout 600] [--sink-port 0]

Embedded mode (no ``DATABASE_URL``): SQLite in a temporary data directory, the queue in its
Huey SQLite file, one ``pawfile worker`` process with ``PAWFILE_WORKER_THREADS`` threads
(the worker half of ``pawfile serve``). Scale-out (``DATABASE_URL`` and ``REDIS_URL`` set,
both scratch: migrated, filled, the queue flushed): ``--workers`` ``pawfile worker``
processes of ``--threads`` threads each.

Steps: migrate; ``--households`` households of one owner (with an email address) and one
pet; first ``--sample`` reminders fired one by one (``firing.reminder_fire``, the old path)
and ``--sample`` fired as one batch (``firing_batch``), counting queries per reminder; then
an SMTP sink in its own process, recording when each mail arrived and
its ``Message-ID`` (``--sink lean``, the default: a minimal asyncio SMTP server that speaks
EHLO/MAIL/RCPT/DATA/RSET/NOOP/QUIT and keeps nothing else, so that the sink's own CPU, on
the same cores, takes little from the workers; ``--sink aiosmtpd``: aiosmtpd, as the tests
use); the workers, waited for until they are idle (what they use to start is not part of
the figures); ``--due`` daily reminders, all due at the same instant T, spread over the
households (one INSERT ... SELECT); and one scheduler tick at T in this process
(``firing.reminders_fire_due``), which writes every notification, delivery and outbox row
and hands the ids to the queue (a tick stops after ``firing.TICK_SECONDS``; the bench starts
the next one at once where the scheduler would wait for the next minute). The bench waits
until the sink has every mail.

Prints the tick's time and queries, deliveries per second (mails at the sink / time from T
to the last one), the delay from T to each mail's arrival at the sink (the hand-over to
the channel: median, p95, p99, max), whether every mail arrived exactly once (distinct
``Message-ID``: missing and duplicated ones), and the CPU seconds each process used from
T to the last mail: each worker, the scheduler (this process, which runs the tick), the
sink, and every ``postgres`` and ``redis-server`` process of the machine (shared with
anything else running there), with CPU µs per mail; in scale-out, also the PostgreSQL
backends of the run's own database alone (``DatabaseBackends``: sampled, a floor). Gives
up after ``--timeout`` seconds of waiting for the sink. Every reminder has one recipient
and one email, plus the in-app notification.
"""

# ruff: noqa: E402 - the standard library is imported after the sys.path fix below

from __future__ import annotations

import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SINK_LINE = re.compile(r"^(\d+\.\d+) <outbox\.(\d+)\.")


def lean_sink_main(port: int, out: str) -> int:
    """A minimal SMTP server (one asyncio protocol): answers every command the client sends
    (``smtplib``'s EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; several in one write, as it
    offers ``PIPELINING``, as mainstream servers do), and for each message appends
    ``<arrival epoch> <Message-ID>`` to ``out``. Keeps nothing else."""
    import asyncio

    message_id = re.compile(rb"^Message-ID: *(<[^>]+>)", re.MULTILINE | re.IGNORECASE)
    handle = open(out, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    class Session(asyncio.Protocol):
        def __init__(self) -> None:
            self.buffer = b""
            self.in_data = False

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]
            self.transport.write(b"220 sink ESMTP\r\n")  # type: ignore[attr-defined]

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            replies: list[bytes] = []  # one write for all the commands that came together
            while True:
                if self.in_data:
                    end = self.buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        break
                    found = message_id.search(self.buffer, 0, end + 2)
                    self.buffer, self.in_data = self.buffer[end + 5 :], False
                    handle.write(f"{time.time():.6f} {found.group(1).decode() if found else '-'}\n")
                    replies.append(b"250 OK\r\n")
                    continue
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    break
                verb, self.buffer = self.buffer[:4].upper(), self.buffer[end + 2 :]
                if verb == b"EHLO":
                    replies.append(
                        b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                    )
                elif verb == b"DATA":
                    self.in_data = True
                    replies.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                elif verb == b"QUIT":
                    self.transport.write(b"".join(replies) + b"221 Bye\r\n")  # type: ignore[attr-defined]
                    self.transport.close()
                    return
                else:
                    replies.append(b"250 OK\r\n")
            if replies:
                self.transport.write(b"".join(replies))  # type: ignore[attr-defined]

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Session, "127.0.0.1", port)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()
        handle.flush()

    asyncio.run(serve())
    return 0


def sink_main(port: int, out: str) -> int:
    """The aiosmtpd sink's process: append ``<arrival epoch> <Message-ID>`` per mail to ``out``."""
    from aiosmtpd.controller import Controller

    message_id = re.compile(rb"^Message-ID: *(<[^>]+>)", re.MULTILINE | re.IGNORECASE)
    handle = open(out, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            raw = envelope.original_content or envelope.content  # type: ignore[attr-defined]
            found = message_id.search(raw if isinstance(raw, bytes) else raw.encode())
            handle.write(f"{time.time():.6f} {found.group(1).decode() if found else '-'}\n")
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_name(*names: str) -> float:
    """CPU seconds so far of every process of this machine whose command is in ``names``."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.find("(") + 1 : text.rfind(")")] in names:
            total += cpu_seconds(int(stat.parent.name))
    return total


class DatabaseBackends:
    """CPU seconds of the PostgreSQL backends serving this run's database (the workers' and
    the scheduler's connections, none of another database's), sampled every second from a
    thread with a connection of its own: a backend that ends between two samples (Django
    reopens a connection past its ``CONN_MAX_AGE``) loses what it used since the last one,
    so this is a floor. The sampling costs this process (the scheduler's figure) a few ms."""

    def __init__(self, url: str) -> None:
        import threading

        import psycopg

        self.db = psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)
        self.before = self._now()
        self.last = dict(self.before)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _now(self) -> dict[int, float]:
        rows = self.db.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
        return {pid: cpu_seconds(pid) for (pid,) in rows}

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            for pid, used in self._now().items():
                self.last[pid] = max(used, self.last.get(pid, 0.0))

    def used(self) -> float:
        self.stop.set()
        self.thread.join()
        for pid, used in self._now().items():
            self.last[pid] = max(used, self.last.get(pid, 0.0))
        self.db.close()
        return sum(used - self.before.get(pid, 0.0) for pid, used in self.last.items())


def idle_wait(processes: list[subprocess.Popen[bytes]], *, most: float = 60.0) -> None:
    """Wait until ``processes`` have started: until none used more than 20 ms of CPU in the
    last half second (at most ``most`` seconds)."""
    deadline = time.monotonic() + most
    before = [cpu_seconds(p.pid) for p in processes]
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = [cpu_seconds(p.pid) for p in processes]
        if all(b - a <= 0.02 for a, b in zip(before, now, strict=True)):
            return
        before = now


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def world(households: int) -> tuple[list[int], list[int]]:
    """``households`` households of one owner and one pet; returns their ids and the pets'."""
    from pawfile.accounts.models import Household, Membership, User
    from pawfile.pets.models import Pet

    stamp = time.time_ns()
    users = User.objects.bulk_create(
        [User(email=f"owner{n}.{stamp}@example.org") for n in range(households)]
    )
    homes = Household.objects.bulk_create([Household(name=f"Home {n}") for n in range(households)])
    Membership.objects.bulk_create(
        [Membership(household=h, user=u, role="owner") for h, u in zip(homes, users, strict=True)]
    )
    pets = Pet.objects.bulk_create([Pet(household=h, name="Rex", species="dog") for h in homes])
    return [h.pk for h in homes], [p.pk for p in pets]


def fill(*, count: int, at: dt.datetime, homes: list[int], pets: list[int]) -> None:
    """``count`` daily reminders due at ``at``, reminder n for household ``n % len(homes)``
    (one INSERT ... SELECT; the ids must be consecutive, as in a fresh database)."""
    from django.db import connection

    from pawfile.reminders.models import Reminder

    assert homes == list(range(homes[0], homes[0] + len(homes))), "household ids not consecutive"
    assert pets == list(range(pets[0], pets[0] + len(pets))), "pet ids not consecutive"
    table = connection.ops.quote_name(Reminder._meta.db_table)
    if connection.vendor == "postgresql":
        series = "SELECT generate_series(1, %s) AS n"
    else:
        series = (
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %s) "
            "SELECT n FROM s"
        )
    columns = (
        "household_id, pet_id, title, notes, source, start_date, start_time, timezone, rule, "
        "lead_minutes, channels, paused, next_due_at, next_fire_at, created_at, updated_at"
    )
    value = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) "  # noqa: S608 - names from the model
            f"SELECT %s + (n %% %s), %s + (n %% %s), 'Pill', '', 'manual', %s, '09:00:00', "
            f"'Europe/Madrid', 'FREQ=DAILY;INTERVAL=1', 0, '[]', %s, %s, %s, %s, %s "
            f"FROM ({series}) AS g",
            [homes[0], len(homes), pets[0], len(pets), at.date(), False,
             value, value, value, value, count],
        )  # fmt: skip
        cursor.execute("ANALYZE")


def queries_per_reminder(sample: int, homes: list[int], pets: list[int]) -> tuple[float, float]:
    """Queries per fired reminder: ``sample`` fired one by one, ``sample`` as one batch."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from pawfile.outbox.models import OutboxMessage
    from pawfile.reminders import firing, firing_batch
    from pawfile.reminders.models import Reminder

    at = timezone.now().replace(microsecond=0) - dt.timedelta(seconds=5)
    fill(count=2 * sample, at=at, homes=homes, pets=pets)
    ids = list(
        Reminder.objects.filter(next_fire_at__lte=at).order_by("pk").values_list("pk", flat=True)
    )
    now = timezone.now()
    with CaptureQueriesContext(connection) as alone, transaction.atomic():
        for reminder_id in ids[:sample]:
            firing.fire_guarded(reminder_id, now=now, count=firing.FireCount())
    count = firing.FireCount()
    with CaptureQueriesContext(connection) as batch, transaction.atomic():
        firing_batch.reminders_fire_batch(ids[sample:], now=now, count=count)
    # These mails are not part of the run: mark them sent before any worker starts.
    OutboxMessage.objects.update(status="sent")
    return len(alone) / sample, len(batch) / max(count.fired, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sample", type=int, default=250)
    parser.add_argument("--sink", choices=("lean", "aiosmtpd"), default="lean")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--sink-port", type=int, default=0, help="the sink's port (0: any free one)"
    )
    parser.add_argument("--serve-sink", nargs=3, metavar=("KIND", "PORT", "FILE"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.serve_sink:
        kind, sink_port, out = args.serve_sink
        return (lean_sink_main if kind == "lean" else sink_main)(int(sink_port), out)
    data = tempfile.mkdtemp(prefix="pawfile-bench-dispatch-")
    scale_out = bool(os.environ.get("DATABASE_URL"))
    if scale_out and not os.environ.get("REDIS_URL"):
        parser.error("scale-out needs REDIS_URL as well as DATABASE_URL")
    port = args.sink_port or free_port()
    arrivals = Path(data) / "arrivals.txt"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pawfile.config.settings",
        "PAWFILE_DATA_DIR": data,
        "PAWFILE_TASKS_IMMEDIATE": "false",
        "PAWFILE_LOG_LEVEL": "ERROR",
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
    }
    os.environ.update(env)
    children: list[subprocess.Popen[bytes]] = []
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone
        from huey.contrib.djhuey import HUEY

        from pawfile.reminders import firing

        call_command("migrate", verbosity=0)
        HUEY.flush()
        homes, pets = world(args.households)
        alone, batched = queries_per_reminder(args.sample, homes, pets)
        HUEY.flush()  # the sample's tasks
        print(f"# {connection.vendor}: queries per fired reminder: one by one {alone:.1f}, "
              f"batched {batched:.2f}")  # fmt: skip
        python = sys.executable
        sink = subprocess.Popen(
            [python, __file__, "--serve-sink", args.sink, str(port), str(arrivals)]
        )
        children.append(sink)
        workers = args.workers if scale_out else 1
        threads = args.threads if scale_out else None
        command = [str(Path(python).parent / "pawfile"), "worker"]
        if threads:
            command += ["--threads", str(threads)]
        for _ in range(workers):
            children.append(subprocess.Popen(command, env=env, cwd=REPO_DIR))
        # The processes start (imports, Django's setup) before the due instant, so that what
        # they use to start is not counted as the dispatch's CPU.
        idle_wait([sink, *children[1:]])
        started = time.perf_counter()
        due_at = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)
        fill(count=args.due, at=due_at, homes=homes, pets=pets)
        print(f"# {args.due:,} reminders due at once over {args.households:,} households "
              f"(inserted in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        while timezone.now() < due_at:
            time.sleep(0.05)
        processes = {"sink": [sink], "worker": children[1:]}
        cpu_before = {n: [cpu_seconds(p.pid) for p in ps] for n, ps in processes.items()}
        services_before = (cpu_by_name("postgres"), cpu_by_name("redis-server"))
        backends = DatabaseBackends(os.environ["DATABASE_URL"]) if scale_out else None
        scheduler_before = time.process_time()
        queries = [0]  # counted, not logged: Django's query log keeps only the last 9,000

        def counted(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            queries[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counted):
            tick_started = time.time()
            count, ticks = firing.FireCount(), 0
            # back to back, where the scheduler would start the next tick a minute later
            while more := firing.reminders_fire_due(now=due_at):
                ticks += 1
                if not more.fired:
                    break
                count.fired += more.fired
                count.lost_race += more.lost_race
                count.failed += more.failed
            tick = time.time() - tick_started
        print(f"# {ticks} ticks: {count.fired:,} fired in {tick:.1f} s "
              f"({count.fired / tick:,.0f}/s), {queries[0]:,} queries "
              f"({queries[0] / max(count.fired, 1):.2f} per reminder), "
              f"{count.lost_race} lost races, {len(count.failed)} failed")  # fmt: skip
        deadline = time.monotonic() + args.timeout
        seen = 0
        while time.monotonic() < deadline:
            seen = sum(1 for _ in arrivals.open()) if arrivals.exists() else 0
            if seen >= count.fired:
                break
            time.sleep(1.0)
        time.sleep(0.5)  # the sink's buffered lines
        cpu = {n: [cpu_seconds(p.pid) - b for p, b in zip(ps, cpu_before[n], strict=True)]
               for n, ps in processes.items()}  # fmt: skip
        cpu["scheduler"] = [time.process_time() - scheduler_before]
        if scale_out:
            cpu["postgres (all)"] = [cpu_by_name("postgres") - services_before[0]]
            assert backends is not None
            cpu["postgres (this database)"] = [backends.used()]
            cpu["redis-server (all)"] = [cpu_by_name("redis-server") - services_before[1]]
        lines = arrivals.read_text().splitlines() if arrivals.exists() else []
        stamps = [float(line.split()[0]) for line in lines]
        mail_ids = [line.split()[1] for line in lines]
        t0 = due_at.timestamp()
        delays = [stamp - t0 for stamp in stamps]
        mode = (f"scale-out, {workers} workers x {threads or 'default'} threads" if scale_out
                else "embedded, 1 worker process (PAWFILE_WORKER_THREADS threads)")  # fmt: skip
        print(f"# {mode}")
        print("case | mails | deliveries/s | delay median s | p95 s | p99 s | max s")
        if delays:
            rate = len(delays) / max(delays)
            print(f"due -> SMTP sink | {len(delays):,} | {rate:,.0f} | "
                  f"{percentile(delays, 0.5):.1f} | {percentile(delays, 0.95):.1f} | "
                  f"{percentile(delays, 0.99):.1f} | {max(delays):.1f}")  # fmt: skip
        else:
            print("due -> SMTP sink | 0 | - | - | - | - | -")
        distinct = len(set(mail_ids))
        print(f"# exactly once: {'yes' if distinct == len(mail_ids) == count.fired else 'NO'} "
              f"({count.fired:,} fired, {len(mail_ids):,} arrived, {distinct:,} distinct "
              f"Message-IDs, {len(mail_ids) - distinct:,} duplicates, "
              f"{max(count.fired - distinct, 0):,} missing; sink: {args.sink})")  # fmt: skip
        print("process | CPU s | CPU µs per mail")
        for name, seconds in cpu.items():
            for index, used in enumerate(seconds):
                label = f"{name} {index + 1}" if len(seconds) > 1 else name
                print(f"{label} | {used:.1f} | {used / max(len(mail_ids), 1) * 1e6:,.0f}")
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
