"""A pet's weight over time as a small server-rendered SVG: no JavaScript, no chart library.

``weight_chart_svg`` draws the weights as points joined by a polyline (each with its date and
weight as a tooltip, the latest one labelled), the least-squares trend line through them, and
axis labels in the pet's unit (kg or lb). ``weight_chart_figure`` is what a page shows: the
chart drawn twice, wide and narrow (``health.css`` shows the one that fits the screen, so its
labels stay at least 12 px), with a legend that names the line and the trend. Every piece of
text is escaped and the markup carries no ``style`` attribute (the CSP forbids inline
styles): looks come from ``class`` attributes styled by ``health.css`` and SVG presentation
attributes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from django.utils import formats, translation
from django.utils.translation import gettext as _

from pawfile.health.services import weight_from_grams

Series = Sequence[tuple[dt.date, int]]

# Below this height the chart is a sparkline-sized preview: fewer labels, tighter margins.
COMPACT_HEIGHT = 120
# Below this width (and not compact) the chart is drawn for a phone: two date labels.
NARROW_WIDTH = 480
# The two drawings of ``weight_chart_figure`` (width, height), matched in health.css.
WIDE = (720, 280)
NARROW = (340, 240)


def _number(value: float | Decimal, places: int) -> str:
    return str(formats.number_format(Decimal(str(round(float(value), places))), places))


def _date(day: dt.date) -> str:
    return str(formats.date_format(day, "SHORT_DATE_FORMAT"))


def _weight(grams: int, unit: str) -> str:
    return f"{formats.number_format(weight_from_grams(grams, unit))} {unit}"


def least_squares(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """``(slope, intercept)`` of the line that best fits the points; flat when x never varies."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    var_x = sum((x - mean_x) ** 2 for x in xs)
    if var_x == 0:
        return 0.0, mean_y
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var_x
    return slope, mean_y - slope * mean_x


def _nice_step(span: float, ticks: int) -> float:
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _empty_message(series: Series, unit: str) -> str:
    if not series:
        text = _("No weight recorded yet. Add one to start the chart.")
    else:
        day, grams = series[0]
        text = _("One weight so far: %(weight)s on %(date)s. Add another to see the trend.") % {
            "weight": _weight(grams, unit),
            "date": _date(day),
        }
    return f'<p class="weight-chart-empty">{escape(text)}</p>'


def weight_chart_svg(
    series: Series,
    unit: str,
    width: int = 640,
    height: int = 240,
    lang: str = "en",
    *,
    title: str = "",
    chart_id: str = "weight-chart",
) -> str:
    """SVG markup of ``series`` (``(date, grams)``, any order) in ``unit`` (``kg``/``lb``).

    With fewer than two weights there is nothing to draw: the result is a ``<p>`` saying so.
    ``title`` (e.g. "Weight of Rex") becomes the accessible name; ``chart_id`` prefixes the
    ids of the title and description so two charts can share a page. Dates and numbers are
    written the way ``lang`` writes them. The result is safe to insert into HTML as is.
    """
    with translation.override(lang):
        points = sorted(series)
        if len(points) < 2:
            return _empty_message(points, unit)
        return _Drawing(points, unit, width, height, title, chart_id).svg()


def weight_chart_figure(
    series: Series, unit: str, lang: str = "en", *, title: str = "", chart_id: str = "weight-chart"
) -> str:
    """The chart as a page shows it: ``weight_chart_svg`` wide (class ``weight-chart-wide``)
    and narrow (``weight-chart-narrow``) and a legend (``chart-legend``) naming the weight
    line and the trend with its change per month. With fewer than two weights, the message
    of ``weight_chart_svg`` alone. Safe to insert into HTML as is."""
    with translation.override(lang):
        points = sorted(series)
        if len(points) < 2:
            return _empty_message(points, unit)
        wide = _Drawing(points, unit, *WIDE, title, f"{chart_id}-wide")
        narrow = _Drawing(points, unit, *NARROW, title, f"{chart_id}-narrow")
        return "\n".join(
            [
                f'<div class="weight-chart-wide">{wide.svg()}</div>',
                f'<div class="weight-chart-narrow">{narrow.svg()}</div>',
                wide.legend(),
            ]
        )


class _Drawing:
    """One chart's geometry: data space (days, unit values) mapped onto the SVG box."""

    def __init__(
        self,
        points: list[tuple[dt.date, int]],
        unit: str,
        width: int,
        height: int,
        title: str,
        chart_id: str,
    ) -> None:
        self.points, self.unit, self.title = points, unit, title
        self.width, self.height = max(width, 120), max(height, 48)
        self.compact = self.height < COMPACT_HEIGHT
        self.narrow = not self.compact and self.width < NARROW_WIDTH
        self.chart_id = escape(chart_id)
        self.left = 44 if self.compact else (66 if self.narrow else 84)
        self.right = 8 if self.compact else 16
        self.top = 8 if self.compact else 28
        self.bottom = 16 if self.compact else 36
        first = points[0][0]
        span_days = (points[-1][0] - first).days
        # All weights on one day: spread them by order instead of stacking them on one x.
        self.xs = [
            float((day - first).days) if span_days else float(i)
            for i, (day, _grams) in enumerate(points)
        ]
        self.ys = [float(weight_from_grams(grams, unit, places=3)) for _day, grams in points]
        self.slope, self.intercept = least_squares(self.xs, self.ys)
        trend_ends = [self.slope * x + self.intercept for x in (self.xs[0], self.xs[-1])]
        low, high = min(self.ys + trend_ends), max(self.ys + trend_ends)
        pad = (high - low) * 0.1 or max(abs(high) * 0.05, 0.1)
        self.step = _nice_step(high - low + 2 * pad, 2 if self.compact else 4)
        self.y_min = math.floor((low - pad) / self.step) * self.step
        self.y_max = math.ceil((high + pad) / self.step) * self.step
        self.x_max = self.xs[-1] or 1.0
        self.places = 0 if self.step >= 1 else (1 if self.step >= 0.1 else 2)

    def x(self, value: float) -> float:
        inner = self.width - self.left - self.right
        return round(self.left + inner * value / self.x_max, 1)

    def y(self, value: float) -> float:
        inner = self.height - self.top - self.bottom
        return round(self.top + inner * (self.y_max - value) / (self.y_max - self.y_min), 1)

    def svg(self) -> str:
        title_id, desc_id = f"{self.chart_id}-title", f"{self.chart_id}-desc"
        # Translated outside the f-strings: message extraction does not look inside them.
        title = self.title or _("Weight over time")
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="weight-chart'
            f"{' weight-chart-compact' if self.compact else ''}"
            f'{" weight-chart-phone" if self.narrow else ""}" '
            f'viewBox="0 0 {self.width} {self.height}" width="{self.width}" '
            f'height="{self.height}" role="img" aria-labelledby="{title_id} {desc_id}">',
            f'<title id="{title_id}">{escape(title)}</title>',
            f'<desc id="{desc_id}">{escape(self.description())}</desc>',
            *self.y_axis(),
            *self.x_axis(),
            self.trend(),
            self.line(),
            *self.dots(),
            *self.latest(),
            "</svg>",
        ]
        return "\n".join(parts)

    def description(self) -> str:
        (first_day, first_g), (last_day, last_g) = self.points[0], self.points[-1]
        per_month = self.per_month()
        return _(
            "%(count)s weights from %(start)s (%(first)s) to %(end)s (%(last)s); "
            "trend %(trend)s %(unit)s per month."
        ) % {
            "count": len(self.points),
            "start": _date(first_day),
            "first": _weight(first_g, self.unit),
            "end": _date(last_day),
            "last": _weight(last_g, self.unit),
            "trend": ("+" if per_month >= 0 else "−") + _number(abs(per_month), 2),
            "unit": self.unit,
        }

    def y_axis(self) -> list[str]:
        out = []
        ticks = round((self.y_max - self.y_min) / self.step)
        for i in range(ticks + 1):
            value = self.y_min + i * self.step
            y = self.y(value)
            label = f"{_number(value, self.places)} {self.unit}"
            out.append(
                f'<line class="chart-grid" x1="{self.left}" y1="{y}" '
                f'x2="{self.width - self.right}" y2="{y}" stroke="currentColor"/>'
            )
            out.append(
                f'<text class="chart-label chart-label-y" x="{self.left - 6}" y="{y}" '
                f'text-anchor="end" dominant-baseline="middle">{escape(label)}</text>'
            )
        return out

    def x_axis(self) -> list[str]:
        base = self.height - self.bottom
        out = [
            f'<line class="chart-axis" x1="{self.left}" y1="{base}" '
            f'x2="{self.width - self.right}" y2="{base}" stroke="currentColor"/>'
        ]
        last = len(self.points) - 1
        labelled = [(0, "start"), (last, "end")]
        if not (self.compact or self.narrow) and last > 1:
            # The weight nearest the middle, when it stands clear of both ends.
            middle = min(range(1, last), key=lambda i: abs(self.xs[i] - self.x_max / 2))
            room = min(
                self.x(self.xs[middle]) - self.left, self.x(self.xs[last]) - self.x(self.xs[middle])
            )
            if room > 130:
                labelled.insert(1, (middle, "middle"))
        for index, anchor in labelled:
            day = self.points[index][0]
            out.append(
                f'<text class="chart-label chart-label-x" x="{self.x(self.xs[index])}" '
                f'y="{self.height - 6}" text-anchor="{anchor}">{escape(_date(day))}</text>'
            )
        return out

    def latest(self) -> list[str]:
        """The latest weight written above its point (not on a compact chart)."""
        if self.compact:
            return []
        _day, grams = self.points[-1]
        x, y = self.x(self.xs[-1]), self.y(self.ys[-1])
        return [
            f'<text class="chart-label chart-point-label" x="{x}" y="{max(y - 10, 14)}" '
            f'text-anchor="end">{escape(_weight(grams, self.unit))}</text>'
        ]

    def per_month(self) -> float:
        """The trend's change per 30 days, in the unit (0 when every weight is of one day)."""
        (first_day, _g1), (last_day, _g2) = self.points[0], self.points[-1]
        return self.slope * 30 if (last_day - first_day).days else 0.0

    def legend(self) -> str:
        """The key under the chart: the weight line with its points, the dashed trend."""
        per_month = self.per_month()
        change = ("+" if per_month >= 0 else "−") + _number(abs(per_month), 2)
        weight = _("Weight (%(unit)s)") % {"unit": self.unit}
        trend = _("Trend: %(change)s %(unit)s per month") % {"change": change, "unit": self.unit}
        line = (
            '<svg class="legend-key legend-weight" viewBox="0 0 28 12" width="28" height="12" '
            'aria-hidden="true"><line x1="0" y1="6" x2="28" y2="6" stroke="currentColor" '
            'stroke-width="2"/><circle cx="14" cy="6" r="3.5" fill="currentColor"/></svg>'
        )
        dashed = (
            '<svg class="legend-key legend-trend" viewBox="0 0 28 12" width="28" height="12" '
            'aria-hidden="true"><line x1="0" y1="6" x2="28" y2="6" stroke="currentColor" '
            'stroke-width="2" stroke-dasharray="6 4"/></svg>'
        )
        return (
            f'<ul class="chart-legend"><li>{line} {escape(weight)}</li>'
            f"<li>{dashed} {escape(trend)}</li></ul>"
        )

    def trend(self) -> str:
        x1, x2 = self.xs[0], self.xs[-1]
        y1, y2 = self.slope * x1 + self.intercept, self.slope * x2 + self.intercept
        label = _("Trend")
        return (
            f'<line class="weight-trend" x1="{self.x(x1)}" y1="{self.y(y1)}" '
            f'x2="{self.x(x2)}" y2="{self.y(y2)}" stroke="currentColor" '
            f'stroke-dasharray="6 4"><title>{escape(label)}</title></line>'
        )

    def line(self) -> str:
        coords = " ".join(f"{self.x(x)},{self.y(y)}" for x, y in zip(self.xs, self.ys, strict=True))
        return (
            f'<polyline class="weight-line" points="{coords}" fill="none" stroke="currentColor"/>'
        )

    def dots(self) -> list[str]:
        radius = 2.5 if self.compact else 3.5
        return [
            f'<circle class="weight-point" cx="{self.x(x)}" cy="{self.y(y)}" r="{radius}" '
            f'fill="currentColor"><title>{escape(_date(day))}: '
            f"{escape(_weight(grams, self.unit))}</title></circle>"
            for x, y, (day, grams) in zip(self.xs, self.ys, self.points, strict=True)
        ]
