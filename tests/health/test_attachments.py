"""Attachments through the real upload view: hostile files are refused with a readable 4xx
and leave nothing behind; real PDFs and images are stored and downloaded safely."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from PIL import Image

from pawfile.health import services
from pawfile.health.models import Attachment, HealthRecord
from pawfile.health.views import content_disposition, download_filename
from tests.conftest import Cast, response_close
from tests.health.samples import HOSTILE, minimal_pdf, png_bytes, stored_files, upload

REASONS = {
    "renamed_text": "Attach a PDF or an image",
    "truncated_pdf": "incomplete or damaged",
    "svg_with_script": "SVG images are not accepted",
    "zip": "Attach a PDF or an image",
    "empty": "empty",
    "too_big": "larger than 15 MB",
}


@pytest.fixture
def record(cast: Cast, pet) -> HealthRecord:
    return services.record_create(actor=cast.alice, pet=pet, kind="vaccination", name="Rabies")


def _attach(client, record: HealthRecord, name: str, data: bytes, content_type: str):
    return client.post(
        f"/records/{record.pk}/attachments/", {"file": upload(name, data, content_type)}
    )


def _download(client, attachment: Attachment) -> tuple[int, bytes, dict[str, str]]:
    response = client.get(f"/attachments/{attachment.pk}/download/")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response_close(response)
    return response.status_code, body, dict(response.headers)


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_uploads_are_refused_and_nothing_is_stored(
    cast: Cast, record: HealthRecord, case: str
) -> None:
    name, data, content_type = HOSTILE[case]()
    response = _attach(cast.client_for("bob"), record, name, data, content_type)
    assert response.status_code == 400
    page = response.content.decode()
    assert REASONS[case] in page
    assert 'id="id_file_error"' in page
    assert not Attachment.objects.exists()
    assert stored_files() == []


def test_a_request_without_a_file_is_refused(cast: Cast, record: HealthRecord) -> None:
    response = cast.client_for("alice").post(f"/records/{record.pk}/attachments/", {})
    assert response.status_code == 400
    assert not Attachment.objects.exists()


def test_a_real_pdf_is_stored_listed_and_downloadable_by_the_viewer(
    cast: Cast, record: HealthRecord
) -> None:
    response = _attach(
        cast.client_for("alice"), record, "Vacuna rabia 2024.pdf", minimal_pdf(), "text/plain"
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert (attachment.content_type, attachment.size) == ("application/pdf", len(minimal_pdf()))
    assert len(stored_files()) == 1
    page = cast.client_for("carol").get(f"/records/{record.pk}/").content.decode()
    assert "Vacuna rabia 2024.pdf" in page and f"/attachments/{attachment.pk}/download/" in page

    status, body, headers = _download(cast.client_for("carol"), attachment)
    assert status == 200
    assert body == minimal_pdf()
    assert headers["Content-Type"] == "application/pdf"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"Vacuna rabia 2024.pdf\"; filename*=UTF-8''Vacuna%20rabia%202024.pdf"
    )
    assert "sandbox" in headers["Content-Security-Policy"]
    assert _download(cast.client_for("charlie"), attachment)[0] == 404
    assert _download(cast.client_for(None), attachment)[0] == 302


def test_a_png_is_stored_as_an_image_and_downloadable(cast: Cast, record: HealthRecord) -> None:
    response = _attach(cast.client_for("bob"), record, "Röntgen 🐶.png", png_bytes(), "image/png")
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/png"
    status, body, headers = _download(cast.client_for("carol"), attachment)
    assert status == 200
    assert Image.open(io.BytesIO(body)).size == (24, 16)
    assert headers["Content-Type"] == "image/png"
    disposition = headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Rontgen.png"; ')
    assert disposition.endswith("filename*=UTF-8''" + quote("Röntgen 🐶.png", safe=""))
    assert _download(cast.client_for("charlie"), attachment)[0] == 404


def test_removing_an_attachment_deletes_its_file(
    cast: Cast, record: HealthRecord, django_capture_on_commit_callbacks
) -> None:
    _attach(cast.client_for("alice"), record, "a.pdf", minimal_pdf(), "application/pdf")
    attachment = Attachment.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = cast.client_for("bob").post(f"/attachments/{attachment.pk}/delete/")
    assert response.status_code == 302
    assert not Attachment.objects.exists()
    assert stored_files() == []


def test_a_missing_file_is_a_404_not_a_500(cast: Cast, record: HealthRecord) -> None:
    _attach(cast.client_for("alice"), record, "a.pdf", minimal_pdf(), "application/pdf")
    for path in stored_files():
        path.unlink()
    assert _download(cast.client_for("alice"), Attachment.objects.get())[0] == 404


@pytest.mark.parametrize(
    ("original", "content_type", "expected"),
    [
        ("scan.JPEG", "image/jpeg", "scan.JPEG"),
        ("scan.png", "image/jpeg", "scan.jpg"),
        ("certificate", "application/pdf", "certificate.pdf"),
        (".pdf", "application/pdf", "attachment.pdf"),
    ],
)
def test_download_names_carry_the_stored_type(original: str, content_type: str, expected: str):
    assert download_filename(original, content_type) == expected


def test_content_disposition_cannot_be_broken_by_a_name() -> None:
    header = content_disposition('evil";\r\nSet-Cookie: x=1.pdf')
    assert "\r" not in header and "\n" not in header
    fallback = header.split("; filename*=")[0]
    assert fallback.count('"') == 2
    assert content_disposition("Вакцина.pdf").startswith('attachment; filename="attachment.pdf"')
