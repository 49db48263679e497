"""Codes and scans in the data export and in account deletion (through the registry)."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction

from pawfile.privacy.deletion import account_delete
from pawfile.privacy.export import export_document
from pawfile.qr import scans, services
from pawfile.qr.models import QRCode, Scan
from tests.qr.test_images import logo_png


def test_export_has_the_codes_and_scans_of_their_maker(manager, code, wsgi, cast) -> None:
    wsgi(f"/r/{code.id}", query="q", HTTP_USER_AGENT="Mozilla/5.0")
    wsgi(f"/r/{code.id}", HTTP_USER_AGENT="Mozilla/5.0")
    scans.scan_buffer_flush()
    document, _files = export_document(user=manager)
    assert [c["id"] for c in document["qr_codes"]] == [code.id]
    assert document["qr_codes"][0]["target_url"] == code.target_url
    assert document["qr_codes"][0]["scan_count"] == 2
    assert [s["genuine"] for s in document["qr_scans"]] == [True, False]
    assert "visitor" not in document["qr_scans"][0]
    other, _files = export_document(user=cast.alice)
    assert other["qr_codes"] == [] and other["qr_scans"] == []


def test_account_deletion_takes_the_codes_scans_and_logos(
    manager, wsgi, django_capture_on_commit_callbacks
) -> None:
    code = services.code_create(
        actor=manager, title="Logo", target_url="https://a.example/", logo=logo_png()
    )
    logo = code.logo
    assert default_storage.exists(logo)
    wsgi(f"/r/{code.id}")
    scans.scan_buffer_flush()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        account_delete(user=manager)
    assert not QRCode.objects.exists()
    assert not Scan.objects.exists()
    assert not default_storage.exists(logo)
