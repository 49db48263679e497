"""``make screenshots``: every page of a demo household as PNGs, phone and desktop, light and
dark, English and Spanish.

    .venv/bin/python -m tests.screens.shoot [--out screenshots] [--only home,pet]
                                            [--lang en,es] [--scheme light,dark]
                                            [--size phone,desktop]

Steps: a temporary ``PAWFILE_DATA_DIR``; migrate it and fill it with the demo household
(``tests/screens/demo.py``) in this process; start ``pawfile serve`` on a free 127.0.0.1 port
(``PAWFILE_BIND``); open each page in the distribution's Chromium, signed in as the owner
(through the login form) or signed out, and save ``<out>/<lang>-<size>-<scheme>-<page>.png``
(the whole page), plus ``…-menu.png`` for the home page with the account menu open. The
server and the folder are removed at the end, also on Ctrl-C. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
LANGUAGES = {"en": "en-US", "es": "es-ES"}
SCHEMES = ("light", "dark")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_in(page: Any, email: str, password: str) -> None:
    """Log in through the login form (any language), as a person would."""
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def seed(data_dir: Path) -> Any:
    """Migrate ``data_dir`` and create the demo household; return it."""
    import datetime as dt

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from tests.screens.demo import demo_household_create

    call_command("migrate", verbosity=0, run_syncdb=True)
    demo = demo_household_create(today=dt.date.today())
    connections.close_all()
    return demo


@contextlib.contextmanager
def serving(env: dict[str, str], port: int) -> Iterator[str]:
    """``pawfile serve`` in its own process group; yields its base URL once /health answers."""
    command = [sys.executable, "-m", "pawfile.cli", "serve"]
    log = open(Path(env["PAWFILE_DATA_DIR"]) / "serve.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                log.flush()
                sys.stderr.write((Path(env["PAWFILE_DATA_DIR"]) / "serve.log").read_text())
                raise SystemExit(f"pawfile serve stopped with code {process.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("pawfile serve did not answer /health within 90 s")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def shoot(base_url: str, demo: Any, args: argparse.Namespace) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from tests.screens.demo import OWNER_EMAIL, PASSWORD, demo_pages

    screens = [s for s in demo_pages(demo) if not args.only or s.name in args.only]
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        for lang in args.lang:
            for size in args.size:
                for scheme in args.scheme:
                    width, height = SIZES[size]
                    for signed_in in (False, True):
                        context = browser.new_context(
                            base_url=base_url, locale=LANGUAGES[lang], color_scheme=scheme,
                            viewport={"width": width, "height": height},
                            device_scale_factor=1, has_touch=size == "phone",
                        )  # fmt: skip
                        page = context.new_page()
                        if signed_in:
                            log_in(page, OWNER_EMAIL, PASSWORD)
                        for screen in screens:
                            if screen.signed_in != signed_in:
                                continue
                            page.goto(screen.path)
                            stem = f"{lang}-{size}-{scheme}-{screen.name}"
                            path = args.out / f"{stem}.png"
                            # The whole page as one tall screen, so the bar fixed to the
                            # bottom of a phone's screen is drawn at the end, where it sits
                            # once a person has scrolled down.
                            tall = page.evaluate("document.documentElement.scrollHeight")
                            page.set_viewport_size({"width": width, "height": max(tall, height)})
                            page.screenshot(path=str(path))
                            page.set_viewport_size({"width": width, "height": height})
                            written.append(path)
                            if screen.name == "home":
                                summary = page.locator("details.account-menu > summary")
                                if summary.count():
                                    summary.first.click()
                                    path = args.out / f"{stem}-menu.png"
                                    page.screenshot(path=str(path))
                                    written.append(path)
                        context.close()
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    split = lambda value: [part for part in value.split(",") if part]  # noqa: E731
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--only", type=split, default=[], help="page names, comma-separated")
    parser.add_argument("--lang", type=split, default=list(LANGUAGES))
    parser.add_argument("--scheme", type=split, default=list(SCHEMES))
    parser.add_argument("--size", type=split, default=list(SIZES))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="pawfile-screens-"))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        PAWFILE_DATA_DIR=str(data_dir), PAWFILE_BIND=f"127.0.0.1:{port}",
        PAWFILE_ENV="development",
        # SMS on, so the phone page shows the demo's number (the screenshots send nothing:
        # the provider's address is a closed local port).
        SMS_ENABLED="true", TWILIO_ACCOUNT_SID="ACdemo", TWILIO_AUTH_TOKEN="demo",
        TWILIO_FROM="+15005550006", TWILIO_API_BASE="http://127.0.0.1:9",
        DJANGO_SETTINGS_MODULE=env.get("DJANGO_SETTINGS_MODULE", "pawfile.config.settings"),
    )  # fmt: skip
    os.environ.clear()
    os.environ.update(env)
    try:
        demo = seed(data_dir)
        started = time.monotonic()
        with serving(env, port) as base_url:
            written = shoot(base_url, demo, args)
        print(f"{len(written)} screenshots in {args.out}/ ({time.monotonic() - started:.0f} s)")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
