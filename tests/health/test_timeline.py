"""The timeline: all records newest first, grouped by month, filtered by kind with or
without JavaScript."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from pawfile.health import services
from tests.conftest import Cast


def _record(cast: Cast, pet, kind: str, date: dt.date, **fields):
    if kind == "weight":
        return services.weight_record(actor=cast.alice, pet=pet, value=fields["kg"], unit="kg",
                                      date=date)  # fmt: skip
    return services.record_create(actor=cast.alice, pet=pet, kind=kind, date=date, **fields)


def _titles(html: str) -> list[str]:
    return [t.strip() for t in re.findall(r'class="timeline-title">\s*(.*?)\s*</a>', html, re.S)]


def _fill(cast: Cast, pet) -> None:
    today = timezone.localdate()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=10)
    _record(cast, pet, "visit", last_month, name="Limp")
    _record(cast, pet, "vaccination", last_month - dt.timedelta(days=3), name="Rabies")
    _record(cast, pet, "weight", today, kg="12.5")
    _record(cast, pet, "vaccination", today.replace(day=1), name="Distemper")


def test_records_newest_first_grouped_by_month(cast: Cast, pet) -> None:
    _fill(cast, pet)
    html = cast.client_for("carol").get(f"/pets/{pet.pk}/timeline/").content.decode()
    assert _titles(html) == ["12.5 kg", "Distemper", "Limp", "Rabies"]
    months = re.findall(r'<section class="timeline-month"', html)
    assert len(months) == 2
    assert "4 records" in html


def test_filter_by_kind_with_query_parameters(cast: Cast, pet) -> None:
    _fill(cast, pet)
    client = cast.client_for("carol")
    url = f"/pets/{pet.pk}/timeline/?kind=vaccination&kind=weight&kind=bogus"
    html = client.get(url).content.decode()
    assert _titles(html) == ["12.5 kg", "Distemper", "Rabies"]
    # The chosen chips stay ticked on the page that works without JavaScript.
    assert re.search(r'name="kind" value="vaccination"\s+checked', html)
    assert re.search(r'name="kind" value="weight"\s+checked', html)
    assert not re.search(r'name="kind" value="visit"\s+checked', html)
    empty = client.get(f"/pets/{pet.pk}/timeline/?kind=surgery").content.decode()
    assert _titles(empty) == []
    assert "No records of these kinds." in empty


def test_htmx_gets_only_the_list(cast: Cast, pet) -> None:
    _fill(cast, pet)
    client = cast.client_for("alice")
    response = client.get(f"/pets/{pet.pk}/timeline/?kind=visit", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="timeline-list"')
    assert _titles(html) == ["Limp"]
    assert "HX-Request" in response["Vary"]
    # Going back in history asks with HX-Request as well, but needs the whole page.
    restore = client.get(
        f"/pets/{pet.pk}/timeline/?kind=visit",
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in restore.content.decode()


def test_timeline_page_has_no_inline_script_or_style(cast: Cast, pet) -> None:
    _fill(cast, pet)
    html = cast.client_for("alice").get(f"/pets/{pet.pk}/timeline/").content.decode()
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)
    assert "pawfile/health.css" in html and "pawfile/health.js" in html
