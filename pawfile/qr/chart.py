"""Scans per day as a small server-drawn SVG bar chart (no script, no inline style)."""

from __future__ import annotations

from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from pawfile.qr.selectors import DayCount

WIDTH, HEIGHT, PAD = 600, 160, 20


def scans_chart(days: list[DayCount]) -> SafeString:
    """An ``<svg>`` with one bar per day (genuine scans darker), titled for screen readers."""
    top = max((d.scans for d in days), default=0) or 1
    bar = (WIDTH - 2 * PAD) / max(len(days), 1)
    parts = [
        f'<svg class="qr-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(_("Scans per day"))}">'
    ]
    for index, day in enumerate(days):
        x = PAD + index * bar
        height = (HEIGHT - 2 * PAD) * day.scans / top
        genuine = (HEIGHT - 2 * PAD) * day.genuine / top
        label = _("%(day)s: %(scans)d scans, %(genuine)d from the printed code") % {
            "day": date_format(day.day, "SHORT_DATE_FORMAT"),
            "scans": day.scans,
            "genuine": day.genuine,
        }
        parts.append(
            f"<g><title>{escape(label)}</title>"
            f'<rect class="qr-bar" x="{x + 1:.1f}" y="{HEIGHT - PAD - height:.1f}" '
            f'width="{bar - 2:.1f}" height="{height:.1f}"/>'
            f'<rect class="qr-bar-genuine" x="{x + 1:.1f}" y="{HEIGHT - PAD - genuine:.1f}" '
            f'width="{bar - 2:.1f}" height="{genuine:.1f}"/></g>'
        )
    parts.append("</svg>")
    # The axis in HTML under the chart: text inside the SVG shrinks with it (7 px on a phone).
    if days:
        first = escape(date_format(days[0].day, "SHORT_DATE_FORMAT"))
        last = escape(date_format(days[-1].day, "SHORT_DATE_FORMAT"))
        peak = max(d.scans for d in days)
        most = escape(_("Most in a day: %(count)d") % {"count": peak})
        parts.append(
            f'<p class="qr-axis"><span>{first}</span><span>{most}</span><span>{last}</span></p>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
