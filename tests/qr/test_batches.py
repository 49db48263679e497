"""Batches of pre-printed tags: made by QR managers (pages and Django admin), printed on an
A4 sheet with cut marks, listed in a CSV; the access table of every batch endpoint."""

from __future__ import annotations

import csv
import io
import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Permission
from django.test import Client
from pypdf import PdfReader

from pawfile.lib.errors import Forbidden, Invalid
from pawfile.qr import batches, scans
from pawfile.qr.choices import TargetKind
from pawfile.qr.ids import code_id_valid
from pawfile.qr.models import QRBatch, QRCode
from tests.conftest import make_user


@pytest.fixture
def staff_plain(db: None):
    """Staff without the qr_manager permission."""
    user = make_user("sam@example.org", "Sam")
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def batch(manager) -> QRBatch:
    return batches.batch_create(actor=manager, count=6, note="Fair 2026", frame_text="SCAN ME")


def test_a_batch_of_unclaimed_codes(manager, batch, wsgi) -> None:
    codes = list(QRCode.objects.filter(batch=batch))
    assert len(codes) == 6 == batch.count
    assert {c.target_kind for c in codes} == {TargetKind.UNCLAIMED}
    assert all(c.household_id is None and c.owner_user_id is None for c in codes)
    assert all(code_id_valid(c.id) for c in codes)
    assert {c.frame_text for c in codes} == {"SCAN ME"}
    answer = wsgi(f"/r/{codes[0].id}")
    assert answer.status == 302
    assert answer.headers["Location"] == f"/t/{codes[0].id}"
    assert scans.scan_buffer_flush() == 1  # a scan of an unclaimed tag counts too


def test_a_thousand_codes_in_few_statements(manager, django_assert_max_num_queries) -> None:
    started = time.perf_counter()
    # SQLite caps the parameters of one statement: some 40 inserts there, 2 on PostgreSQL
    with django_assert_max_num_queries(60):
        batch = batches.batch_create(actor=manager, count=1000)
    took = time.perf_counter() - started
    print(f"batch of 1000: {took:.2f} s")  # measured, not asserted (a loaded machine)
    assert QRCode.objects.filter(batch=batch).count() == 1000
    assert len(set(QRCode.objects.filter(batch=batch).values_list("id", flat=True))) == 1000


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": batches.BATCH_MAX + 1}, "count"),
        ({"count": 3, "fg_color": "#fefefe"}, "fg_color"),
        ({"count": 3, "note": "a\nb"}, "note"),
    ],
)
def test_bad_batches_refused(manager, values, field) -> None:
    with pytest.raises(Invalid) as refusal:
        batches.batch_create(actor=manager, **values)
    assert field in refusal.value.fields or (field == "fg_color" and refusal.value.fields)
    assert not QRBatch.objects.exists()


def test_only_managers_make_batches(cast, staff_plain) -> None:
    for user in (staff_plain, cast.alice):
        with pytest.raises(Forbidden):
            batches.batch_create(actor=user, count=2)


def test_csv_lists_ids_and_scan_urls(manager, batch, settings) -> None:
    rows = list(csv.DictReader(io.StringIO(batches.batch_csv(batch))))
    ids = sorted(QRCode.objects.filter(batch=batch).values_list("id", flat=True))
    assert [r["id"] for r in rows] == ids
    assert rows[0]["scan_url"] == f"{settings.PAWFILE_BASE_URL}/r/{ids[0]}?q"
    assert {r["claimed_at"] for r in rows} == {""}


def test_print_sheet_grid_pages_and_ids(manager) -> None:
    big = batches.batch_create(actor=manager, count=23)
    started = time.perf_counter()
    pdf = batches.batch_sheet_pdf(big)
    print(f"sheet of 23: {time.perf_counter() - started:.2f} s, {len(pdf)} bytes")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2  # 20 per A4 page
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    text = "".join(page.extract_text() for page in reader.pages).replace(" ", "")
    for code_id in QRCode.objects.filter(batch=big).values_list("id", flat=True):
        assert code_id in text


# -- Pages and the access table -----------------------------------------------------------


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _endpoints(batch: QRBatch) -> list[tuple[str, str]]:
    return [
        ("get", "/qr/batches/"),
        ("post", "/qr/batches/"),
        ("get", f"/qr/batches/{batch.pk}/"),
        ("get", f"/qr/batches/{batch.pk}/sheet.pdf"),
        ("get", f"/qr/batches/{batch.pk}/codes.csv"),
    ]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("manager", {"/qr/batches/": 200}),
        ("staff_plain", {"/qr/batches/": 403}),
        ("user", {"/qr/batches/": 403}),
        ("anonymous", {"/qr/batches/": 302}),
    ],
)
def test_access_table(request, cast, manager, staff_plain, batch, who, expected) -> None:
    user = {"manager": manager, "staff_plain": staff_plain, "user": cast.alice}.get(who)
    client = _client(user)
    for method, url in _endpoints(batch):
        if method == "post":
            response = client.post(url, {"count": "2", "fg_color": "#000000",
                                         "bg_color": "#ffffff", "module_size": "10",
                                         "quiet_zone": "4", "error_level": "M"})  # fmt: skip
        else:
            response = client.get(url)
        collection = url == "/qr/batches/"
        if who == "manager":
            assert response.status_code in (200, 302), url
        elif who == "anonymous":
            assert response.status_code == 302 and "/login" in response["Location"], url
        else:  # a non-manager: 403 on the list, 404 on a batch (nothing says it exists)
            assert response.status_code == (403 if collection else 404), url
    made = QRBatch.objects.count()
    assert made == (2 if who == "manager" else 1)


def test_manager_pages_make_and_download(manager, client) -> None:
    client.force_login(manager)
    page = client.get("/qr/batches/")
    assert page.status_code == 200 and "New batch" in page.content.decode()
    response = client.post(
        "/qr/batches/",
        {"count": "3", "note": "Vet fair", "fg_color": "#000000", "bg_color": "#ffffff",
         "module_size": "10", "quiet_zone": "4", "error_level": "M", "frame_text": ""},
    )  # fmt: skip
    batch = QRBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/qr/batches/{batch.pk}/"
    detail = client.get(response["Location"]).content.decode()
    assert "3 tags, 0 claimed." in detail and "Vet fair" in detail
    sheet = client.get(f"/qr/batches/{batch.pk}/sheet.pdf")
    assert sheet["Content-Type"] == "application/pdf" and sheet.content.startswith(b"%PDF")
    assert "attachment" in sheet["Content-Disposition"]
    table = client.get(f"/qr/batches/{batch.pk}/codes.csv")
    assert table["Content-Type"].startswith("text/csv")
    assert table.content.decode().count("\n") == 4
    bad = client.post("/qr/batches/", {"count": "0", "fg_color": "#000000",
                                       "bg_color": "#ffffff", "module_size": "10",
                                       "quiet_zone": "4", "error_level": "M"})  # fmt: skip
    assert bad.status_code == 400 and QRBatch.objects.count() == 1


def test_address_allowlist_applies(manager, client, settings) -> None:
    settings.PAWFILE_QR_ADMIN_ALLOWED_IPS = ["10.0.0.0/8"]
    client.force_login(manager)
    response = client.get("/qr/batches/", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert response.status_code == 403


def test_django_admin_makes_a_batch(manager, staff_plain, client) -> None:
    for user in (manager, staff_plain):  # the admin wants two factors from staff
        TOTP.activate(user, generate_totp_secret())
    client.force_login(manager)
    assert client.get("/admin/qr/qrbatch/").status_code == 200
    response = client.post(
        "/admin/qr/qrbatch/add/",
        {"count": "4", "note": "From admin", "fg_color": "#000000", "bg_color": "#ffffff",
         "module_size": "10", "quiet_zone": "4", "error_level": "M", "frame_text": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    batch = QRBatch.objects.get()
    assert batch.created_by == manager
    assert QRCode.objects.filter(batch=batch, target_kind=TargetKind.UNCLAIMED).count() == 4
    low = client.post(
        "/admin/qr/qrbatch/add/",
        {"count": "4", "fg_color": "#eeeeee", "bg_color": "#ffffff", "module_size": "10",
         "quiet_zone": "4", "error_level": "M"},
    )  # fmt: skip
    assert low.status_code == 200 and QRBatch.objects.count() == 1
    other = Client()
    other.force_login(staff_plain)
    assert other.get("/admin/qr/qrbatch/").status_code == 403
    assert other.get("/admin/qr/qrbatch/add/").status_code == 403


def test_permission_is_the_one_from_the_model(db) -> None:
    assert Permission.objects.filter(codename="qr_manager").exists()


def test_print_sheet_codes_decode_to_their_scan_urls(manager, settings) -> None:
    import zxingcpp  # a runtime dependency: it draws the print sheet's codes
    from PIL import Image

    batch = batches.batch_create(actor=manager, count=8, fg_color="#1a3d2b")
    (page,) = batches.batch_sheet_png(batch, ppi=200)
    image = Image.open(io.BytesIO(page)).convert("L")
    found = {result.text for result in zxingcpp.read_barcodes(image)}
    ids = QRCode.objects.filter(batch=batch).values_list("id", flat=True)
    assert found == {f"{settings.PAWFILE_BASE_URL}/r/{code_id}?q" for code_id in ids}


def test_unclaimed_tags_are_not_generic_codes(manager, batch, code, client) -> None:
    from pawfile.lib.errors import NotFound
    from pawfile.qr import selectors, services

    tag = QRCode.objects.filter(batch=batch).order_by("id")[0]
    assert list(selectors.code_list(user=manager)) == [code]
    with pytest.raises(NotFound):
        selectors.code_get(user=manager, code_id=tag.id)
    with pytest.raises(NotFound):
        services.code_update(actor=manager, code_id=tag.id, target_url="https://x.example/")
    client.force_login(manager)
    assert client.get(f"/qr/{tag.id}/").status_code == 404
    assert tag.id not in client.get("/qr/").content.decode()
