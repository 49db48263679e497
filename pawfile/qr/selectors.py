"""Reads of the QR codes app. Every function takes the acting user and checks
``access.manager_check`` (a non-manager gets 404 for a code, 403 for the list)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from pawfile.lib.errors import NotFound
from pawfile.qr import access
from pawfile.qr.choices import TargetKind
from pawfile.qr.models import QRCode, Scan, ScanDay

CHART_DAYS = 30
# Generic codes: no household and a web address (pre-printed tags not yet claimed are the
# batches' business: ``batches``, ``claim``).
GENERIC = Q(household__isnull=True, target_kind=TargetKind.URL)
BREAKDOWN_TOP = 5


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    scans: int
    genuine: int
    unique: int


@dataclass(frozen=True)
class ScanSummary:
    total: int
    genuine: int
    last_scan_at: dt.datetime | None
    days: list[DayCount]  # the last ``CHART_DAYS`` days, oldest first, zeros included


def code_list(*, user: Any) -> QuerySet[QRCode]:
    """The generic codes, newest first (``Forbidden`` for a non-manager)."""
    access.manager_check(user, collection=True)
    return QRCode.objects.filter(GENERIC).order_by("-created_at", "id")


def code_get(*, user: Any, code_id: str) -> QRCode:
    """One generic code (``NotFound`` for a non-manager or an unknown id)."""
    access.manager_check(user)
    code = QRCode.objects.filter(GENERIC, pk=code_id).first()
    if code is None:
        from django.utils.translation import gettext as _

        raise NotFound(_("No such QR code."))
    return code


def scan_summary(*, code: QRCode, today: dt.date, zone: Any = None) -> ScanSummary:
    """Totals and per-day counts of ``code``'s scans for the ``CHART_DAYS`` days up to
    ``today`` (days in ``zone``, the reader's; bots are not counted as genuine)."""
    zone = zone or timezone.get_current_timezone()
    first = today - dt.timedelta(days=CHART_DAYS - 1)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    rows = (
        Scan.objects.filter(code=code, at__gte=start)
        .annotate(day=TruncDate("at", tzinfo=zone))
        .values("day")
        .annotate(
            scans=Count("id"),
            genuine=Count("id", filter=Q(genuine=True, bot=False)),
            unique=Count("visitor", distinct=True),
        )
    )
    by_day: dict[dt.date, dict[str, Any]] = {row["day"]: dict(row) for row in rows}
    # Days folded by the retention (UTC days) count on the same date.
    for folded in ScanDay.objects.filter(code=code, day__gte=first, day__lte=today):
        row = by_day.setdefault(folded.day, {})
        row["scans"] = row.get("scans", 0) + folded.total
        row["genuine"] = row.get("genuine", 0) + folded.genuine
        row["unique"] = row.get("unique", 0) + folded.unique
    days = []
    for offset in range(CHART_DAYS):
        day = first + dt.timedelta(days=offset)
        row = by_day.get(day, {})
        days.append(DayCount(day, row.get("scans", 0), row.get("genuine", 0), row.get("unique", 0)))
    totals = Scan.objects.filter(code=code).aggregate(
        genuine=Count("id", filter=Q(genuine=True, bot=False)), last=Max("at")
    )
    folded_genuine = ScanDay.objects.filter(code=code).aggregate(n=Sum("genuine"))["n"] or 0
    return ScanSummary(
        total=code.scan_count,
        genuine=(totals["genuine"] or 0) + folded_genuine,
        last_scan_at=code.last_scan_at or totals["last"],
        days=days,
    )


@dataclass(frozen=True)
class Share:
    name: str  # "" : not recognised
    scans: int
    percent: int


@dataclass(frozen=True)
class Breakdown:
    devices: list[Share]
    systems: list[Share]
    browsers: list[Share]
    countries: list[Share]  # only those known (a GeoIP database configured)


def _top(scans: QuerySet[Scan], field: str, total: int) -> list[Share]:
    rows = scans.values(field).annotate(n=Count("id")).order_by("-n", field)[:BREAKDOWN_TOP]
    return [Share(row[field], row["n"], round(100 * row["n"] / total)) for row in rows]


def scan_breakdown(*, code: QRCode) -> Breakdown:
    """The ``BREAKDOWN_TOP`` devices, operating systems, browsers and countries of
    ``code``'s kept scans by people (bots left out), most first, with their share of all
    those scans in percent."""
    scans = Scan.objects.filter(code=code, bot=False)
    total = scans.count()
    if not total:
        return Breakdown([], [], [], [])
    return Breakdown(
        devices=_top(scans, "device", total),
        systems=_top(scans, "os", total),
        browsers=_top(scans, "browser", total),
        countries=_top(scans.exclude(country=""), "country", total),
    )
