"""The lost-pet path on phones: the owner marks Rex lost; a stranger scans his tag
(``/r/{id}``), lands on his public page, reports him with the phone's location; the owner,
signed in on another phone, sees the report on Rex's page and has the mail; downloads the
poster (its QR leads to the tag); marks him found.

Django's live server does not put the QR redirect in front of Django (``pawfile serve`` does,
``config/wsgi.py``), so this test runs its own live server thread with the same wrapping:
``QrRedirect(StaticFilesHandler(django))``, without its background thread (whose own
database connection cannot share SQLite's in-memory test database): the map of codes is
loaded by the first scan, in the server's thread, and scans stay in the buffer.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import zxingcpp
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIServer
from django.test.testcases import LiveServerThread
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfReader

from pawfile.lostpet.models import PublicProfile, Sighting
from pawfile.qr import images as qr_images
from pawfile.qr import services as qr_services
from tests.conftest import Cast
from tests.documents.conftest import pdf_text
from tests.e2e.conftest import (  # noqa: F401
    CHROMIUM_ARGS,
    PHONE,
    browser,
    chromium_executable,
    phone_contexts,
)
from tests.e2e.pets_helpers import log_in
from tests.smtp import text_body

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MADRID = {"latitude": 40.41678, "longitude": -3.70379}


class _JoinedWSGIServer(ThreadedWSGIServer):
    """Django's threaded test server, except that closing it waits (up to 30 s) for its
    request threads: one still ending (a browser's kept-alive connection, closed a moment
    ago) would otherwise use the shared database connection after the test gave it back,
    and fail in its thread (``DatabaseWrapper objects created in a thread can only be used
    in that same thread``)."""

    daemon_threads = False
    block_on_close = True

    def server_close(self) -> None:
        WSGIServer.server_close(self)  # the listening socket; the threads are joined here
        threads = list(vars(self).get("_threads", []))  # socketserver's, once a request came
        for thread in threads:
            thread.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "a request thread did not end"


class _ServerThread(LiveServerThread):
    server_class = _JoinedWSGIServer


@pytest.fixture
def server(transactional_db: None, settings: Any) -> Iterator[str]:
    """A live server with the QR redirect in front of Django, as ``pawfile serve`` runs it.

    On SQLite the test's in-memory connection is lent to the server's threads and given
    back once they have all ended, so nothing depends on whether pytest-django's session
    ``live_server`` (which lends it until the session ends) was started earlier in this
    worker. Browser contexts on it come from ``phones``, which closes them before it stops.
    """
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.db import connections

    from pawfile.qr.redirect import QrRedirect

    shared = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}
    for connection in shared.values():
        connection.inc_thread_sharing()  # as LiveServerTestCase does
    thread = _ServerThread(
        "127.0.0.1",
        lambda app: QrRedirect(StaticFilesHandler(app), background=False),
        shared,
        port=0,
    )
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    url = f"http://127.0.0.1:{thread.port}"
    settings.PAWFILE_BASE_URL = url
    settings.ALLOWED_HOSTS = ["*"]
    try:
        yield url
    finally:
        thread.terminate()  # returns once every request thread has ended
        for connection in shared.values():
            connection.dec_thread_sharing()


@pytest.fixture
def phones(browser: Any, server: str) -> Iterator[Callable[..., Any]]:  # noqa: F811
    """``phones(**options)``: a new phone-sized browser context on ``server``. Every one is
    closed when the test ends, before the server stops (so no connection of it is open)."""
    with phone_contexts(browser, server) as phone:
        yield phone


def test_scan_report_alert_poster_found(phones, cast: Cast, pet, smtp_server) -> None:
    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    owner_context = phones()
    owner = owner_context.new_page()
    owner.goto("/health", timeout=60_000)  # the first answer of a fresh server is slow
    log_in(owner, cast.alice.email)

    # The owner marks Rex lost.
    owner.goto(f"/pets/{pet.pk}/lost/")
    owner.get_by_label("Last seen where").fill("Parque del Retiro")
    owner.get_by_label("Reward").fill("100 EUR")
    owner.get_by_role("button", name="Mark lost").click()
    expect(owner.get_by_text("Lost since")).to_be_visible()
    profile = PublicProfile.objects.get(pet=pet)
    assert profile.is_lost

    # A stranger scans the tag with a phone that shares its location.
    finder_context = phones(geolocation=MADRID, permissions=["geolocation"])
    finder = finder_context.new_page()
    finder.goto(qr_images.scan_url(tag, printed=True))
    expect(finder).to_have_url(re.compile(rf"/p/{profile.slug}$"))
    expect(finder.get_by_text("Parque del Retiro")).to_be_visible()
    message = finder.get_by_label("What did you see?")  # loaded by HTMX into the page
    finder.get_by_role("button", name="Send to the owner").click()  # empty: the 400 shows
    expect(finder.get_by_text("This field is required.")).to_be_visible()
    message = finder.get_by_label("What did you see?")
    message.fill("Rex is with me at the bakery, safe.")
    finder.get_by_role("button", name="Share my location").click()
    expect(finder.get_by_text("Location added.")).to_be_visible()
    finder.get_by_label("Your email (optional)").fill("finder@example.net")
    finder.get_by_role("button", name="Send to the owner").click()
    expect(finder.get_by_text("Thank you! The owner has been told.")).to_be_visible()
    assert finder.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    report = Sighting.objects.get(source="report")
    assert (report.latitude, report.longitude) == (Decimal("40.41678"), Decimal("-3.70379"))
    assert report.finder_email == "finder@example.net" and not report.finder_shares_contact

    # The owner's mail, with the map link.
    mail = smtp_server.wait_for(
        to=cast.alice.email, subject_contains="Someone reported seeing Rex", timeout=30
    )
    body = text_body(mail)
    assert "Rex is with me at the bakery, safe." in body
    assert "https://www.openstreetmap.org/?mlat=40.41678&mlon=-3.70379" in body
    assert "finder@example.net" not in body

    # The owner, on the other phone, sees the report on Rex's page.
    owner.goto(f"/pets/{pet.pk}/")
    expect(owner.get_by_text("Reports from finders")).to_be_visible()
    expect(owner.get_by_text("Rex is with me at the bakery, safe.")).to_be_visible()
    owner.get_by_role("button", name="See all reports").click()
    expect(owner.get_by_role("link", name="Open the place on the map")).to_be_visible()

    # The poster: its QR code is the tag's printed address.
    owner.goto(f"/pets/{pet.pk}/")
    with owner.expect_download() as download:
        owner.get_by_role("button", name="Lost poster (PDF, English)").click()
    pdf = open(download.value.path(), "rb").read()  # noqa: SIM115
    assert "LOST" in pdf_text(pdf) and "Rex" in pdf_text(pdf) and "100 EUR" in pdf_text(pdf)
    found = []
    for picture in PdfReader(io.BytesIO(pdf)).pages[0].images:
        with Image.open(io.BytesIO(picture.data)) as image:
            found += [r.text for r in zxingcpp.read_barcodes(image.convert("RGB"))]
    assert found == [qr_images.scan_url(tag, printed=True)]

    # Home again: mark found.
    owner.goto(f"/pets/{pet.pk}/lost/")
    owner.get_by_role("button", name="Rex is home: mark found").click()
    expect(owner.get_by_text("Welcome home, Rex!")).to_be_visible()
    profile.refresh_from_db()
    assert not profile.is_lost
