"""``pawfile web --workers 2``: every scrape of /metrics counts the requests of both workers,
whichever worker answers it. Starts the real console script on SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster import free_port, wait_until_up

PAWFILE = str(Path(sys.executable).with_name("pawfile"))
REQUESTS = 30


def _landing_count(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "pawfile_http_requests_total" and sample.labels["route"] == "/"
    )


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _metrics_folder(pid: int) -> Path | None:
    for child in _children(pid):
        try:
            environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environ:
            if item.startswith(b"PROMETHEUS_MULTIPROC_DIR="):
                return Path(item.split(b"=", 1)[1].decode())
    return None


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))}
    for name in ("DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    env |= {"PAWFILE_DATA_DIR": str(tmp_path / "data"), "PAWFILE_LOG_LEVEL": "WARNING"}
    # two workers without Redis are refused unless allowed (tests/test_refuse_unsafe.py)
    env["PAWFILE_ALLOW_UNSHARED"] = "1"
    subprocess.run([PAWFILE, "migrate"], env=env, check=True, capture_output=True, timeout=180)
    port = free_port()
    with (tmp_path / "web.log").open("wb") as log:
        process = subprocess.Popen(
            [PAWFILE, "web", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_every_scrape_counts_both_workers(two_workers) -> None:
    url, process = two_workers
    folder = _metrics_folder(process.pid)
    assert folder is not None and folder.is_dir(), "the workers were given no shared folder"
    # A fresh connection each time, so the requests spread over both workers.
    for _ in range(REQUESTS):
        assert httpx.get(url + "/", headers={"Connection": "close"}).status_code == 200
    counted = [
        _landing_count(httpx.get(url + "/metrics", headers={"Connection": "close"}).text)
        for _ in range(12)
    ]
    assert counted == [REQUESTS] * 12
    writers = {path.stem.rsplit("_", 1)[-1] for path in folder.glob("counter_*.db")}
    assert len(writers) == 2, f"requests were not spread over both workers: {writers}"

    process.terminate()
    process.wait(timeout=20)
    deadline = time.monotonic() + 5
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not folder.exists(), "the shared metrics folder was left behind"


def test_a_chosen_folder_is_emptied_of_the_last_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pawfile.cli import processes

    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_4242.db").write_bytes(b"old counts")
    (folder / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    with processes.shared_metrics(2):
        assert not (folder / "counter_4242.db").exists()
    assert (folder / "notes.txt").exists() and folder.is_dir()
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(folder)
