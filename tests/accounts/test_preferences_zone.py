"""The preferences page: a time-zone field with suggestions, the browser's zone offered to
someone who never chose one, and zone names read whatever their case or spaces."""

from __future__ import annotations

from pawfile.accounts.models import User
from tests.conftest import Cast

FORM = {"name": "Alice", "phone": "", "locale": "", "theme": "auto"}


def test_the_zone_field_suggests_every_zone(cast: Cast) -> None:
    page = cast.client_for("alice").get("/preferences/").content.decode()
    assert 'list="id_timezone-zones"' in page
    assert '<datalist id="id_timezone-zones">' in page
    assert '<option value="Europe/Madrid">Europe/Madrid</option>' in page
    assert '<option value="America/New_York">America/New York</option>' in page
    assert "pawfile/timezone.js" in page
    assert "<script>" not in page  # no inline script (CSP)


def test_the_browser_zone_is_offered_only_to_who_never_chose(cast: Cast) -> None:
    page = cast.client_for("alice").get("/preferences/").content.decode()
    assert 'data-browser-zone="id_timezone-zones-note"' in page
    assert "Filled in from your browser" in page
    cast.alice.timezone = "Europe/Madrid"
    cast.alice.save()
    page = cast.client_for("alice").get("/preferences/").content.decode()
    assert "data-browser-zone" not in page
    assert 'value="Europe/Madrid"' in page


def test_a_zone_is_read_whatever_its_case_or_spaces(cast: Cast) -> None:
    client = cast.client_for("alice")
    response = client.post("/preferences/", {**FORM, "timezone": " america/new york "})
    assert response.status_code == 302
    assert User.objects.get(pk=cast.alice.pk).timezone == "America/New_York"


def test_an_unknown_zone_is_refused_with_a_message(cast: Cast) -> None:
    response = cast.client_for("alice").post("/preferences/", {**FORM, "timezone": "Mars/Base"})
    assert response.status_code == 400
    assert "Mars/Base is not a known time zone" in response.content.decode()
    assert User.objects.get(pk=cast.alice.pk).timezone == "UTC"
