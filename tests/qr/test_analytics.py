"""Scan analytics: device / OS / browser from the user agent (parsed in the flush, never in
the request), the bot flag, retention into per-day totals, the breakdown on the code page,
and the scan counter of ``/metrics``."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from pawfile.ops import metrics
from pawfile.qr import scans, selectors
from pawfile.qr.models import QRCode, Scan, ScanDay

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def _metric(kind: str) -> float:
    text = metrics.render().decode()
    found = re.search(rf'^pawfile_qr_scans_total{{kind="{kind}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_agent_parsed_in_the_flush_not_the_request(code, wsgi) -> None:
    wsgi(f"/r/{code.id}", HTTP_USER_AGENT=IPHONE + " x" * 400)
    event = scans.ScanEvent(*scans.buffer[0])  # the buffer holds the fields, no more
    assert len(event.user_agent) == scans.UA_MAX  # the raw agent, cut, nothing parsed yet
    assert not hasattr(event, "device")
    scans.scan_buffer_flush()
    row = Scan.objects.get(code=code)
    assert (row.device, row.os, row.browser, row.bot) == ("iPhone", "iOS", "Mobile Safari", False)


def test_families_and_bots(code, wsgi) -> None:
    agents = [IPHONE, IPHONE, PIXEL, GOOGLEBOT, "curl/8.5.0", ""]
    for agent in agents:
        wsgi(f"/r/{code.id}", HTTP_USER_AGENT=agent)
    assert scans.scan_buffer_flush() == len(agents)
    rows = {(r.device, r.os, r.browser, r.bot) for r in Scan.objects.filter(code=code)}
    assert ("Pixel 8", "Android", "Chrome Mobile", False) in rows
    assert ("Spider", "", "Googlebot", True) in rows
    assert Scan.objects.filter(code=code, bot=True).count() == 3  # Googlebot, curl, no agent
    assert len(agents[0]) < 300


def test_breakdown_top_five_of_people(code, wsgi) -> None:
    for agent in [IPHONE] * 3 + [PIXEL] + [GOOGLEBOT] * 5:
        wsgi(f"/r/{code.id}", HTTP_USER_AGENT=agent)
    scans.scan_buffer_flush()
    breakdown = selectors.scan_breakdown(code=code)
    assert [(s.name, s.scans, s.percent) for s in breakdown.devices] == [
        ("iPhone", 3, 75),
        ("Pixel 8", 1, 25),
    ]
    assert [s.name for s in breakdown.browsers] == ["Mobile Safari", "Chrome Mobile"]
    assert [s.name for s in breakdown.systems] == ["iOS", "Android"]


def test_code_page_shows_the_breakdown(manager, code, wsgi, client) -> None:
    for agent in (IPHONE, PIXEL):
        wsgi(f"/r/{code.id}", HTTP_USER_AGENT=agent)
    scans.scan_buffer_flush()
    client.force_login(manager)
    html = client.get(f"/qr/{code.id}/").content.decode()
    for text in ("Devices", "iPhone", "Pixel 8", "Browsers", "Chrome Mobile", "iOS", "50%"):
        assert text in html


def test_metrics_count_written_scans_and_unknown_ids(
    code, wsgi, django_capture_on_commit_callbacks
) -> None:
    before = {kind: _metric(kind) for kind in ("genuine", "typed", "bot", "unknown_id")}
    wsgi(f"/r/{code.id}", query="q", HTTP_USER_AGENT=IPHONE)
    wsgi(f"/r/{code.id}", HTTP_USER_AGENT=IPHONE)
    wsgi(f"/r/{code.id}", HTTP_USER_AGENT=GOOGLEBOT)
    wsgi("/r/zzzzzzzzzz")
    wsgi("/r/zzzzzzzzzy")
    with django_capture_on_commit_callbacks(execute=True):
        scans.scan_buffer_flush()
    assert _metric("genuine") - before["genuine"] == 1
    assert _metric("typed") - before["typed"] == 1
    assert _metric("bot") - before["bot"] == 1
    assert _metric("unknown_id") - before["unknown_id"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        scans.scan_buffer_flush()
    assert _metric("unknown_id") - before["unknown_id"] == 2  # not counted twice


def _scan(code: QRCode, at: dt.datetime, *, genuine: bool, visitor: str, bot: bool = False):
    return Scan(code=code, at=at, genuine=genuine, visitor=visitor, bot=bot)


def test_retention_folds_old_scans_into_days(code, settings) -> None:
    settings.PAWFILE_SCAN_RETENTION_DAYS = 30
    now = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
    old = dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC)
    Scan.objects.bulk_create(
        [
            _scan(code, old, genuine=True, visitor="a"),
            _scan(code, old + dt.timedelta(hours=1), genuine=True, visitor="a"),
            _scan(code, old + dt.timedelta(hours=2), genuine=False, visitor="b"),
            _scan(code, old + dt.timedelta(hours=3), genuine=True, visitor="c", bot=True),
            _scan(code, old + dt.timedelta(days=1), genuine=False, visitor="d"),
            _scan(code, now - dt.timedelta(days=2), genuine=True, visitor="e"),  # kept
        ]
    )
    assert scans.scan_retention_run(now=now) == 5
    days = {d.day: (d.total, d.genuine, d.unique) for d in ScanDay.objects.filter(code=code)}
    assert days == {dt.date(2026, 5, 1): (4, 2, 3), dt.date(2026, 5, 2): (1, 0, 1)}
    assert Scan.objects.filter(code=code).count() == 1
    # run again with a late scan of an already folded day: added to it
    Scan.objects.create(code=code, at=old, genuine=True, visitor="z")
    assert scans.scan_retention_run(now=now) == 1
    assert ScanDay.objects.get(code=code, day=dt.date(2026, 5, 1)).total == 5
    assert scans.scan_retention_run(now=now) == 0


def test_summary_and_chart_read_both_tables(code, settings) -> None:
    today = timezone.now().astimezone(dt.UTC).date()
    code.scan_count = 7
    code.save()
    ScanDay.objects.create(
        code=code, day=today - dt.timedelta(days=3), total=5, genuine=4, unique=2
    )
    Scan.objects.create(
        code=code, at=timezone.now(), genuine=True, visitor="x"
    )  # today, kept row by row
    Scan.objects.create(code=code, at=timezone.now(), genuine=False, visitor="y")
    summary = selectors.scan_summary(code=code, today=today, zone=dt.UTC)
    assert summary.total == 7
    assert summary.genuine == 5
    by_day = {d.day: (d.scans, d.genuine, d.unique) for d in summary.days}
    assert by_day[today - dt.timedelta(days=3)] == (5, 4, 2)
    assert by_day[today] == (2, 1, 2)


def test_the_periodic_task_runs_the_retention(code, settings) -> None:
    from pawfile.qr import tasks

    settings.PAWFILE_SCAN_RETENTION_DAYS = 1
    Scan.objects.create(code=code, at=timezone.now() - dt.timedelta(days=5), visitor="a")
    tasks.qr_scan_retention.call_local()
    assert ScanDay.objects.filter(code=code).count() == 1
    assert not Scan.objects.filter(code=code).exists()


def test_export_has_the_new_fields_and_the_day_totals(cast, pet, manager, wsgi) -> None:
    from pawfile.qr import batches, contributions, petpage, services

    installed = petpage.pet_page_path_resolver()  # the lost-pet app's, put back after
    petpage.pet_page_path_register(lambda p: f"/p/x-{p.pk}")
    try:
        batch = batches.batch_create(actor=manager, count=1)
        tag = QRCode.objects.get(batch=batch)
        services.pet_code_link(actor=cast.alice, code_id=tag.id, pet=pet)
    finally:
        if installed is None:
            petpage.pet_page_path_unregister()
        else:
            petpage.pet_page_path_register(installed)
    wsgi.refresh()
    wsgi(f"/r/{tag.id}", HTTP_USER_AGENT=IPHONE)
    scans.scan_buffer_flush()
    ScanDay.objects.create(code=tag, day=dt.date(2025, 1, 2), total=3, genuine=1, unique=2)
    rows = contributions.export_rows(cast.bob).rows  # a caretaker of the household
    (code_row,) = rows["qr_codes"]
    assert code_row["id"] == tag.id and code_row["batch_id"] == batch.pk
    assert code_row["claimed_at"] is not None
    assert rows["qr_scans"][0]["device"] == "iPhone"
    assert rows["qr_scan_days"] == [
        {"code_id": tag.id, "day": dt.date(2025, 1, 2), "total": 3, "genuine": 1, "unique": 2}
    ]
    assert contributions.export_rows(cast.charlie).rows["qr_codes"] == []
    contributions.household_clear(cast.household)
    assert not ScanDay.objects.exists() and not Scan.objects.exists()


def test_country_from_a_local_geoip_database(code, wsgi, settings, tmp_path) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country")
    writer.insert_network(IPSet(["203.0.113.0/24"]), {"country": {"iso_code": "ES"}})
    writer.insert_network(IPSet(["2001:db8::/32"]), {"country": {"iso_code": "FR"}})
    path = tmp_path / "country.mmdb"
    writer.to_db_file(str(path))

    wsgi(f"/r/{code.id}", HTTP_USER_AGENT=IPHONE)  # 203.0.113.7, but no database yet
    scans.scan_buffer_flush()
    settings.PAWFILE_GEOIP_PATH = str(path)
    for address in ("203.0.113.9", "203.0.113.10", "2001:db8::5", "198.51.100.1"):
        wsgi(f"/r/{code.id}", HTTP_USER_AGENT=IPHONE, REMOTE_ADDR=address)
    scans.scan_buffer_flush()
    countries = sorted(Scan.objects.filter(code=code).values_list("country", flat=True))
    assert countries == ["", "", "ES", "ES", "FR"]  # none, 198.51.100.1 unknown
    assert [(s.name, s.scans) for s in selectors.scan_breakdown(code=code).countries] == [
        ("ES", 2),
        ("FR", 1),
    ]
    assert scans.country_of("not an address") == ""
    settings.PAWFILE_GEOIP_PATH = str(tmp_path / "missing.mmdb")
    assert scans.country_of("203.0.113.9") == ""  # unreadable: logged, no country
