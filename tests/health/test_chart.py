"""The weight chart: a polyline through every weight, a trend line, labels in the pet's unit,
escaped text, and a message instead of a chart with fewer than two weights."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from django.utils import formats, translation

from pawfile.health import services
from pawfile.health.chart import least_squares, weight_chart_svg
from pawfile.pets.models import Pet
from tests.conftest import Cast
from tests.health.samples import days

SVG = "{http://www.w3.org/2000/svg}"
SERIES = [
    (dt.date(2024, 1, 1), 12000),
    (dt.date(2024, 2, 1), 12500),
    (dt.date(2024, 3, 15), 12300),
    (dt.date(2024, 5, 1), 13100),
    (dt.date(2024, 6, 1), 13000),
]


def _tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check its shape


def test_polyline_has_one_point_per_weight_and_a_trend_line() -> None:
    root = _tree(weight_chart_svg(SERIES, "kg", 640, 240, "en", title="Weight of Rex"))
    (polyline,) = root.iter(f"{SVG}polyline")
    assert len(polyline.get("points", "").split()) == len(SERIES)
    assert len(list(root.iter(f"{SVG}circle"))) == len(SERIES)
    trends = [el for el in root.iter(f"{SVG}line") if el.get("class") == "weight-trend"]
    assert len(trends) == 1
    # The trend rises like the weights do (SVG y grows downwards).
    assert float(trends[0].get("y2", 0)) < float(trends[0].get("y1", 0))
    labels = [el.text or "" for el in root.iter(f"{SVG}text")]
    assert any(label.endswith(" kg") for label in labels)
    assert root.find(f"{SVG}title").text == "Weight of Rex"


def test_labels_in_pounds_and_spanish_numbers() -> None:
    texts = list(_tree(weight_chart_svg(SERIES, "lb", 640, 240, "es")).iter(f"{SVG}text"))
    weights = [el.text or "" for el in texts if "chart-label-x" not in (el.get("class") or "")]
    assert weights and all(label.endswith(" lb") for label in weights)
    desc = _tree(weight_chart_svg(SERIES, "kg", 640, 240, "es")).find(f"{SVG}desc").text or ""
    with translation.override("es"):
        last = formats.date_format(dt.date(2024, 6, 1), "SHORT_DATE_FORMAT")
    assert "12,5" not in desc and "13 kg" in desc and last in desc


def test_no_style_attributes_anywhere() -> None:
    svg = weight_chart_svg(SERIES, "kg", 240, 80, "en")
    assert "style" not in svg
    assert "weight-chart-compact" in svg


def test_text_is_escaped() -> None:
    svg = weight_chart_svg(SERIES, "kg", 640, 240, "en", title='<script>alert("x")</script>')
    assert "<script>" not in svg
    assert _tree(svg).find(f"{SVG}title").text == '<script>alert("x")</script>'


def test_zero_and_one_weight_give_a_message() -> None:
    assert "No weight recorded yet" in weight_chart_svg([], "kg", 640, 240, "en")
    one = weight_chart_svg(SERIES[:1], "lb", 640, 240, "en")
    assert "<svg" not in one
    assert "26.46 lb" in one


def test_weights_of_one_day_and_flat_weights_still_draw() -> None:
    same_day = [(dt.date(2024, 1, 1), 5000), (dt.date(2024, 1, 1), 5100)]
    root = _tree(weight_chart_svg(same_day, "kg", 640, 240, "en"))
    (polyline,) = root.iter(f"{SVG}polyline")
    xs = [float(p.split(",")[0]) for p in polyline.get("points", "").split()]
    assert xs[0] != xs[1]
    flat = [(dt.date(2024, 1, 1), 5000), (dt.date(2024, 3, 1), 5000)]
    assert "<polyline" in weight_chart_svg(flat, "kg", 640, 240, "en")


def test_least_squares() -> None:
    assert least_squares([0, 1, 2], [1, 3, 5]) == (2.0, 1.0)
    assert least_squares([1, 1], [2, 4]) == (0.0, 3.0)


def test_timeline_escapes_a_hostile_pet_name_in_the_chart(cast: Cast) -> None:
    pet = Pet.objects.create(household=cast.household, name="<b>Rex</b>", species="dog")
    for n, kg in ((-60, "10"), (-30, "10.4"), (-1, "10.9")):
        services.weight_record(actor=cast.alice, pet=pet, value=kg, unit="kg", date=days(n))
    html = cast.client_for("carol").get(f"/pets/{pet.pk}/timeline/").content.decode()
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg" class="weight-chart')
    svg = html[start : html.index("</svg>", start) + 6]
    assert "<b>Rex</b>" not in html
    assert "Weight of &lt;b&gt;Rex&lt;/b&gt;" in svg
    (polyline,) = _tree(svg).iter(f"{SVG}polyline")
    assert len(polyline.get("points", "").split()) == 3
    assert "up from 10.4 kg" in html


def test_timeline_with_one_weight_shows_the_message(cast: Cast, pet) -> None:
    services.weight_record(actor=cast.alice, pet=pet, value="8", unit="kg")
    html = cast.client_for("alice").get(f"/pets/{pet.pk}/timeline/").content.decode()
    assert "<svg" not in html.split('id="weight-heading"')[1].split("</section>")[0]
    assert "One weight so far" in html
