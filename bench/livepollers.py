"""The open pages of ``bench/inbox.py``: pollers asking ``/notifications/live`` on a fixed
cadence, in a process of their own (on the load CPU), and the bench's handle on it.

    python bench/livepollers.py --poll COOKIES.json --port P --interval S

runs the pollers (one keep-alive connection per session cookie in the file) until
``COOKIES.json.progress.stop`` appears, writing ``[polls, 304s, late, pollers answered,
clock]`` to ``COOKIES.json.progress`` as it goes, then prints its totals as JSON.
``Pollers`` starts that process and reads its progress; ``window_polls`` turns two readings
into polls/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from measure import pinned
from web import HOST, BenchError

LIVE_PATH = "/notifications/live"


class Stats:
    """What the pollers saw so far (one process, one event loop: no locks)."""

    def __init__(self) -> None:
        self.polls = 0
        self.not_modified = 0
        self.late = 0
        self.answered = 0  # pollers with at least one answer
        self.lost = 0  # connections the server closed
        self.steady = False  # every poller answered once, two intervals ago
        self.status: dict[int, int] = {}
        self.latency: list[float] = []


def _header(lowered: bytes, raw: bytes, name: bytes) -> bytes:
    """The value of header ``name`` (lower case) in a response head, from ``raw`` (the head
    as received) found in ``lowered`` (the same, lower case); empty when absent."""
    at = lowered.find(b"\r\n" + name + b":")
    if at < 0:
        return b""
    stop = lowered.find(b"\r\n", at + 2)
    return raw[at + len(name) + 3 : stop if stop >= 0 else len(raw)].strip()


class Poller(asyncio.Protocol):
    """One open page: a keep-alive connection asking the live URL every ``interval`` seconds
    on a fixed cadence, with the last ETag in ``If-None-Match``."""

    def __init__(self, head: bytes, interval: float, stats: Stats, first_due: float) -> None:
        self.head = head  # the request up to (without) If-None-Match and the blank line
        self.interval = interval
        self.stats = stats
        self.due = first_due
        self.etag = b""
        self.buffer = b""
        self.sent_at = 0.0
        self.waiting = False
        self.answered = False
        self.stopped = False
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.loop.call_at(self.due, self.send)

    def send(self) -> None:
        if self.stopped or self.transport is None or self.transport.is_closing():
            return
        self.sent_at = self.loop.time()
        extra = b"If-None-Match: " + self.etag + b"\r\n" if self.etag else b""
        self.transport.write(self.head + extra + b"\r\n")
        self.waiting = True

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        raw_head = self.buffer[:end]
        head = raw_head.lower()
        length = int(_header(head, head, b"content-length") or 0)
        if len(self.buffer) < end + 4 + length:
            return
        self.buffer = self.buffer[end + 4 + length :]
        status = int(raw_head[9:12])
        self.etag = _header(head, raw_head, b"etag") or self.etag
        now = self.loop.time()
        stats = self.stats
        stats.polls += 1
        stats.not_modified += status == 304
        stats.status[status] = stats.status.get(status, 0) + 1
        if stats.steady:  # not while the first polls (200s, through Django) queue up
            stats.latency.append(now - self.sent_at)
        if not self.answered:
            self.answered = True
            stats.answered += 1
        self.waiting = False
        self.due += self.interval
        if self.due < now:  # the answer came after the next poll was due: late, sent now
            stats.late += 1
            self.due = now  # and the cadence goes on from here: no burst to catch up
            self.loop.call_soon(self.send)
        else:
            self.loop.call_at(self.due, self.send)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.stopped:
            self.stats.lost += 1  # the server closed an open page's connection
        self.stopped = True


async def _poll_all(port: int, cookies: list[str], interval: float, progress: Path) -> Stats:
    loop = asyncio.get_running_loop()
    stats = Stats()
    start = loop.time() + 0.5
    protocols: list[Poller] = []
    for cookie in cookies:
        head = (
            f"GET {LIVE_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nCookie: {cookie}\r\n"
            "Accept: application/json\r\n"
        ).encode()
        first = start + random.uniform(0, interval)
        _, protocol = await loop.create_connection(
            lambda head=head, first=first: Poller(head, interval, stats, first), HOST, port
        )
        protocols.append(protocol)
    stop_file = progress.with_suffix(".stop")
    steady_at = None
    while not stop_file.exists():
        if steady_at is None and stats.answered >= len(protocols):
            steady_at = loop.time() + 2 * interval
        stats.steady = steady_at is not None and loop.time() >= steady_at
        state = [stats.polls, stats.not_modified, stats.late, stats.answered, loop.time()]
        progress.with_suffix(".tmp").write_text(json.dumps(state))
        progress.with_suffix(".tmp").replace(progress)
        await asyncio.sleep(0.25)
    for protocol in protocols:
        protocol.stopped = True
        if protocol.transport is not None:
            protocol.transport.close()
    return stats


def poll_main(args: argparse.Namespace) -> int:
    cookies = json.loads(Path(args.poll).read_text())
    progress = Path(args.poll + ".progress")
    stats = asyncio.run(_poll_all(args.port, cookies, args.interval, progress))
    latency = sorted(stats.latency)
    out = {
        "polls": stats.polls,
        "status": stats.status,
        "late": stats.late,
        "lost": stats.lost,
        "p50_ms": 1000 * statistics.median(latency) if latency else 0,
        "p99_ms": 1000 * latency[max(0, int(len(latency) * 0.99) - 1)] if latency else 0,
        "max_ms": 1000 * latency[-1] if latency else 0,
    }
    print(json.dumps(out))
    return 0


class Pollers:
    """The pollers' process (on the load CPU) and its progress: ``start``, ``window``, ``stop``."""

    def __init__(self, work: Path, cookies: list[str], port: int, args: argparse.Namespace):
        self.file = work / f"cookies-{port}.json"
        self.file.write_text(json.dumps(cookies))
        self.progress = Path(str(self.file) + ".progress")
        self.count = len(cookies)
        self.process = subprocess.Popen(
            [*pinned(args.pin, "load"), sys.executable, __file__, "--poll", str(self.file),
             "--port", str(port), "--interval", str(args.interval)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def read(self) -> list[float]:
        """``[polls, 304s, late, pollers answered, pollers' clock]`` so far."""
        for _ in range(40):
            try:
                return [float(x) for x in json.loads(self.progress.read_text())]
            except (OSError, ValueError):
                time.sleep(0.05)
        return [0.0] * 5

    def wait_all_answered(self, interval: float) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if self.read()[3] >= self.count:
                time.sleep(2 * interval)  # past every first (200) answer
                return
        raise BenchError(f"only {self.read()[3]:.0f} of {self.count} pollers were answered")

    def stop(self) -> dict[str, Any]:
        self.progress.with_suffix(".stop").write_text("")
        out, _ = self.process.communicate(timeout=60)
        return dict(json.loads(out.strip().splitlines()[-1]))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def window_polls(before: list[float], after: list[float]) -> dict[str, float]:
    """Polls/s, share of 304 and of late polls between two progress readings."""
    polls = after[0] - before[0]
    seconds = max(after[4] - before[4], 1e-9)
    return {
        "polls": polls,
        "per_s": polls / seconds,
        "not_modified": (after[1] - before[1]) / max(polls, 1),
        "late": (after[2] - before[2]) / max(polls, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--poll", required=True, help="the JSON file of session cookies")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interval", type=float, default=1.5)
    return poll_main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
