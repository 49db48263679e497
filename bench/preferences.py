"""Preferences page benchmark: ``GET /preferences/`` and a save, in this process.

    .venv/bin/python bench/preferences.py [--runs 200]

Migrates a fresh SQLite data directory in a temporary folder (embedded mode), makes a user,
signs in with Django's test client and times the page (what the server does for one
request: middleware, view, template) one request at a time, then a POST that saves the
preferences (the time zone checked against the IANA list). Prints
``case | runs | median ms | p95 ms | min ms | max ms``. The temporary folder is removed at
the end.
"""

# ruff: noqa: E402 - the standard library is imported after the sys.path fix below

from __future__ import annotations

import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))

import argparse
import os
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable


def _times(runs: int, call: Callable[[], int], expect: int) -> list[float]:
    out: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        status = call()
        out.append((time.perf_counter() - start) * 1000)
        if status != expect:
            raise SystemExit(f"unexpected status {status} (wanted {expect})")
    return out


def _field_rows(runs: int) -> list[tuple[str, list[float]]]:
    """The time-zone field alone, the way it was (a ``<select>`` of every zone rendered
    through Django's widget templates, the list read from disk by the validator on a save)
    and the way it is, timed in turns so that the machine's load hits both alike."""
    import zoneinfo

    from django import forms

    from pawfile.accounts.forms import TimeZoneInput
    from pawfile.accounts.models import validate_timezone

    choices = [(n, n.replace("_", " ")) for n in sorted(zoneinfo.available_timezones())]
    old = forms.ChoiceField(choices=choices).widget
    new = TimeZoneInput()
    new.render("timezone", "UTC")  # the datalist is rendered once per process
    times: dict[str, list[float]] = {
        k: [] for k in ("old render", "new render", "old check", "new check")
    }
    for _ in range(runs):
        for key, call in (
            ("old render", lambda: old.render("timezone", "UTC")),
            ("new render", lambda: new.render("timezone", "UTC")),
            ("old check", lambda: "Europe/Madrid" in zoneinfo.available_timezones()),
            ("new check", lambda: validate_timezone("Europe/Madrid")),
        ):
            start = time.perf_counter()
            call()
            times[key].append((time.perf_counter() - start) * 1000)
    return [
        ("zone field: <select> of every zone (before)", times["old render"]),
        ("zone field: <input list> + cached datalist (now)", times["new render"]),
        ("zone check: available_timezones() (before)", times["old check"]),
        ("zone check: cached set (now)", times["new check"]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="pawfile-bench-prefs-")
    os.environ.update(
        PAWFILE_DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="pawfile.config.settings",
        PAWFILE_LOG_LEVEL="WARNING",
    )
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client

        from pawfile.accounts.services import user_create

        call_command("migrate", verbosity=0)
        user = user_create(email="bench@example.org", password=secrets.token_urlsafe(16), name="B")
        client = Client()
        client.force_login(user)
        form = {
            "name": "B",
            "phone": "",
            "timezone": "Europe/Madrid",
            "locale": "",
            "theme": "auto",
        }
        client.get("/preferences/")  # first request: imports, template compilation
        rows = [
            (
                "GET /preferences/",
                _times(args.runs, lambda: client.get("/preferences/").status_code, 200),
            ),
            (
                "POST /preferences/",
                _times(args.runs, lambda: client.post("/preferences/", form).status_code, 302),
            ),
        ]
        rows += _field_rows(args.runs)
        print("case | runs | median ms | p95 ms | min ms | max ms")
        for case, values in rows:
            values.sort()
            p95 = values[int(len(values) * 0.95) - 1]
            print(
                f"{case} | {len(values)} | {statistics.median(values):.1f} | {p95:.1f} | "
                f"{values[0]:.1f} | {values[-1]:.1f}"
            )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
