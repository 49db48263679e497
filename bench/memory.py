"""Memory of ``pawfile serve`` seen from outside: idle, after load, and through a 15 MB photo.

    .venv/bin/python bench/memory.py [--requests 2000] [--photo-mb 15]

Starts ``pawfile serve`` (embedded mode: SQLite, in-process cache and queue) on a fresh data
directory and measures the whole process tree (the supervisor, which loads no Django,
multiprocessing's resource tracker, and granian's web worker, which runs the app and the task
consumer; the idle figure of each is printed too):

1. idle, 5 s after it answers ``/health``;
2. after load: ``--requests`` requests over the landing page, the sign-in page, ``/health``,
   the API's pet list and a pet's PDF report (20 pets, so the report cache fills);
3. through a photo upload of about ``--photo-mb`` MB (default 14.2, under the 15 MB
   limit; a noisy JPEG, the worst case to decode): the peak, sampled every 10 ms while
   the upload runs, and 5 s after it.

For each: the sum of RSS over the processes and the sum of PSS (shared pages divided among
the processes that share them: what the tree costs the machine). Targets (issue 13): idle
≤ 250 MB, the upload adds < 100 MB at peak and the tree returns within 20 MB of before.

Not part of the product.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
PAWFILE = str(Path(sys.executable).with_name("pawfile"))
MB = 1024 * 1024


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def per_process(pid: int) -> list[tuple[str, float]]:
    """(what the process is, RSS in MB) for each process of the tree."""
    found = []
    for p in tree(pid):
        try:
            command = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            rss = Path(f"/proc/{p}/smaps_rollup").read_text().split("Rss:")[1].split()[0]
        except (OSError, IndexError):
            continue
        role = "web worker" if "spawn_main" in command else "resource tracker"
        found.append((role if "multiprocessing" in command else "supervisor", int(rss) / 1024))
    return found


def memory(pid: int) -> tuple[float, float]:
    """(RSS sum, PSS sum) of the tree in MB."""
    rss = pss = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def noisy_jpeg(megabytes: float) -> bytes:
    from PIL import Image

    side = 1600
    while True:
        image = Image.frombytes("RGB", (side, side * 3 // 4), os.urandom(side * side * 9 // 4))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=95)
        if out.tell() >= megabytes * MB * 0.95:
            return out.getvalue()
        side = int(side * 1.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--photo-mb", type=float, default=14.2)  # the limit is 15 MB
    args = parser.parse_args()
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="pawfile-memory-") as tmp:
        port = 18000 + os.getpid() % 1000
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))},
            "PAWFILE_DATA_DIR": tmp,
            "PAWFILE_BIND": f"127.0.0.1:{port}",
            "PAWFILE_LOG_LEVEL": "WARNING",
            "PAWFILE_API_RATELIMIT_USER": "100000000/60",
            "PAWFILE_API_RATELIMIT_IP": "100000000/60",
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        server = subprocess.Popen(
            [PAWFILE, "serve"], env=env, stdout=subprocess.DEVNULL, start_new_session=True
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(url + "/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("pawfile serve did not start")
                time.sleep(0.3)
            seeded = subprocess.run(
                [sys.executable, str(REPO / "bench" / "apidata.py"), "--tokens", "1",
                 "--tokens-file", f"{tmp}/token"],
                env={**env, "DJANGO_SETTINGS_MODULE": "pawfile.config.settings"},
                capture_output=True, check=True, timeout=300,
            )  # fmt: skip
            pet_ids = json.loads(seeded.stdout.decode().strip().splitlines()[-1])["pet_ids"]
            token = Path(f"{tmp}/token").read_text().strip()
            time.sleep(5)
            rows.append(("idle", *memory(server.pid)))
            idle_processes = per_process(server.pid)
            headers = {"Authorization": f"Bearer {token}"}
            paths = ["/", "/accounts/login/", "/health", "/api/v1/pets?limit=20"]
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                for n in range(args.requests):
                    if n % 10 == 9:
                        pet = pet_ids[(n // 10) % len(pet_ids)]
                        client.get(f"/api/v1/pets/{pet}/report.pdf")
                    else:
                        client.get(paths[n % len(paths)])
            time.sleep(3)
            rows.append((f"after {args.requests} requests", *memory(server.pid)))
            photo = noisy_jpeg(args.photo_mb)
            before = memory(server.pid)
            peak = list(before)
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    rss, pss = memory(server.pid)
                    peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                    time.sleep(0.01)

            sampler = threading.Thread(target=sample)
            sampler.start()
            answer = httpx.post(
                f"{url}/api/v1/pets/{pet_ids[0]}/photos",
                headers=headers,
                files={"file": ("big.jpg", photo, "image/jpeg")},
                timeout=120,
            )
            done.set()
            sampler.join()
            if answer.status_code != 201:
                raise SystemExit(f"upload answered {answer.status_code}: {answer.text[:300]}")
            rows.append((f"before a {len(photo) / MB:.1f} MB photo", *before))
            rows.append(("peak during the upload", peak[0], peak[1]))
            time.sleep(5)
            rows.append(("5 s after the upload", *memory(server.pid)))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
    print("| moment | RSS (sum, MB) | PSS (sum, MB) |")
    print("|---|---|---|")
    for name, rss, pss in rows:
        print(f"| {name} | {rss:.0f} | {pss:.0f} |")
    print("\nidle, each process: " + ", ".join(f"{n} {r:.0f} MB" for n, r in idle_processes))
    before_pss, peak_pss, after_pss = rows[2][2], rows[3][2], rows[4][2]
    print(
        f"\nidle RSS {rows[0][1]:.0f} MB, PSS {rows[0][2]:.0f} MB (target ≤ 250); the upload added "
        f"{peak_pss - before_pss:.0f} MB at peak (target < 100) and left "
        f"{after_pss - before_pss:+.0f} MB (target within 20)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
