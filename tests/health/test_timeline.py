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
    # On the first of a month both fall on today; the later record then comes first.
    _record(cast, pet, "vaccination", today.replace(day=1), name="Distemper")
    _record(cast, pet, "weight", today, kg="12.5")


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


def _older_link(html: str) -> str | None:
    found = re.search(r'<p class="timeline-more">\s*<a href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_long_history_comes_a_page_at_a_time_without_gaps_or_repeats(cast: Cast, pet) -> None:
    today = timezone.localdate()
    # Two records a day over 60 days: page breaks fall inside days and inside months.
    for n in range(120):
        day = today - dt.timedelta(days=n // 2)
        _record(cast, pet, "visit", day, name=f"Visit {n:03d}")
    client = cast.client_for("carol")
    url: str | None = f"/pets/{pet.pk}/timeline/"
    seen: list[str] = []
    pages = 0
    while url:
        html = client.get(url).content.decode()
        assert "120 records" in html
        titles = _titles(html)
        assert len(titles) <= 50
        seen += titles
        pages += 1
        if pages > 1:
            assert "Newest records" in html
        url = _older_link(html)
    assert pages == 3
    # Newest first: the last one added on each day comes before the first.
    expected = [f"Visit {n:03d}" for day in range(60) for n in (2 * day + 1, 2 * day)]
    assert seen == expected


def test_older_page_over_htmx_replaces_the_link_and_keeps_the_filter(cast: Cast, pet) -> None:
    today = timezone.localdate()
    for n in range(55):
        _record(cast, pet, "visit", today - dt.timedelta(days=n), name=f"Visit {n:02d}")
    _record(cast, pet, "vaccination", today - dt.timedelta(days=400), name="Rabies")
    client = cast.client_for("alice")
    first = client.get(f"/pets/{pet.pk}/timeline/?kind=visit").content.decode()
    older = _older_link(first)
    assert older is not None and "kind=visit" in older and "before=" in older
    assert f'hx-get="{older.replace("&", "&amp;")}"' in first
    fragment = client.get(older, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and 'id="timeline-list"' not in fragment
    assert fragment.lstrip().startswith('<section class="timeline-month"')
    assert _titles(fragment) == [f"Visit {n:02d}" for n in range(50, 55)]
    assert _older_link(fragment) is None  # the vaccination is filtered out
    # Heading ids stay unique when a month is headed again on the next page.
    ids = re.findall(r'<h3 id="([^"]+)"', first + fragment)
    assert len(ids) == len(set(ids))


def test_broken_older_link_is_a_clear_400(cast: Cast, pet) -> None:
    _fill(cast, pet)
    client = cast.client_for("alice")
    for bad in ("yesterday", "2026-13-01.5", "2026-11-01.", "2026-11-01.-3", "2026-11-01.1e5"):
        response = client.get(f"/pets/{pet.pk}/timeline/", {"before": bad})
        assert response.status_code == 400, bad
        assert "This link to older records is broken" in response.content.decode()
