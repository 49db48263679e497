"""One date format per language (``pawfile/formats``): pages, Python display code and the
report all write "2 Mar 2025" in English and "2 mar 2025" in Spanish."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from pawfile.documents.report_data import date_text as report_date_text
from pawfile.health.services import record_create
from pawfile.lib.dates import date_text
from pawfile.pets.models import Pet
from pawfile.pets.services import pet_update
from tests.conftest import Cast

DAY = dt.date(2025, 3, 2)
EXPECTED = {"en": "2 Mar 2025", "es": "2 mar 2025"}
# What the pages showed before: Django's own formats for English and Spanish.
OLD = ["Mar. 2, 2025", "March 2, 2025", "03/02/2025", "02/03/2025", "2 de marzo de 2025"]
ROOT = Path(__file__).resolve().parents[2] / "pawfile"


@pytest.mark.parametrize("language", ["en", "es"])
def test_pages_show_the_one_format(cast: Cast, pet: Pet, language: str) -> None:
    pet_update(actor=cast.alice, pet=pet, birth_date=DAY)
    record = record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name="Rabies", date=DAY,
        next_due=DAY + dt.timedelta(days=365),
    )  # fmt: skip
    client = cast.client_for("alice")
    next_due = {"en": "2 Mar 2026", "es": "2 mar 2026"}[language]
    for url, expected in (
        (f"/records/{record.pk}/", EXPECTED[language]),
        (f"/pets/{pet.pk}/", EXPECTED[language]),
        (f"/pets/{pet.pk}/timeline/", next_due),
    ):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert expected in page, (url, language)
        for old in OLD:
            assert old not in page, (url, old)
    timeline = client.get(f"/pets/{pet.pk}/timeline/", HTTP_ACCEPT_LANGUAGE=language)
    heading = {"en": "March 2025", "es": "Marzo de 2025"}[language]
    assert heading in timeline.content.decode()


def test_python_display_code_uses_the_same_format() -> None:
    assert date_text(DAY, language="en") == "2 Mar 2025"
    assert date_text(DAY, language="es") == "2 mar 2025"
    assert report_date_text(DAY, "es") == "2 mar 2025"
    assert report_date_text(None, "en") is None
    instant = dt.datetime(2025, 3, 2, 14, 5, tzinfo=dt.UTC)
    assert date_text(instant, language="en") == "2 Mar 2025, 14:05"
    assert date_text(None) == ""


def test_no_template_or_module_spells_a_date_format() -> None:
    """Display formats are named (``DATE_FORMAT``...; a bare ``|date`` is ``DATE_FORMAT``),
    never spelled out; machine formats (ISO 8601, RRULE, the zone) are fine."""
    allowed = {"c", "Y-m-d", "Y-m", "e", "U"}
    named = re.compile(r"^[A-Z_]+_FORMAT$")
    human = re.compile(r"%[aAbBcxp]|[/ ,]")
    offenders = []
    for path in [*ROOT.rglob("*.html"), *ROOT.rglob("*.txt")]:
        for fmt in re.findall(r"""\|date:["']([^"']*)["']""", path.read_text()):
            if fmt not in allowed and not named.match(fmt):
                offenders.append(f"{path.relative_to(ROOT)}: {fmt}")
    for path in ROOT.rglob("*.py"):
        if "formats" in path.parts:
            continue
        text = path.read_text()
        for fmt in re.findall(r"""strftime\(\s*["']([^"']*)["']""", text):
            if human.search(fmt):
                offenders.append(f"{path.relative_to(ROOT)}: strftime {fmt}")
        for fmt in re.findall(r"""date_format\([^,]+,\s*["']([^"']*)["']""", text):
            if not named.match(fmt):
                offenders.append(f"{path.relative_to(ROOT)}: {fmt}")
        if "dateformat.format(" in text:
            offenders.append(f"{path.relative_to(ROOT)}: dateformat.format")
    assert not offenders, offenders
