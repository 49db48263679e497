"""The admin lists health records and attachments with their filters and search."""

from __future__ import annotations

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings

from pawfile.health import services
from tests.conftest import Cast
from tests.health.samples import minimal_pdf, upload


def test_admin_pages(cast: Cast, pet) -> None:
    record = services.record_create(actor=cast.alice, pet=pet, kind="vaccination", name="Rabies")
    attachment = services.attachment_add(
        actor=cast.alice,
        record=record,
        upload=upload("c.pdf", minimal_pdf(), "application/pdf"),
        filename="c.pdf",
    )
    cast.charlie.is_staff = cast.charlie.is_superuser = True
    cast.charlie.save()
    TOTP.activate(cast.charlie, generate_totp_secret())
    client = cast.client_for("charlie")
    base = "/" + settings.PAWFILE_ADMIN_PATH
    pages = [
        "health/healthrecord/?kind__exact=vaccination&q=rab",
        f"health/healthrecord/{record.pk}/change/",
        "health/attachment/",
        f"health/attachment/{attachment.pk}/change/",
    ]
    for page in pages:
        response = client.get(base + page)
        assert response.status_code == 200, page
    assert "Rabies" in client.get(base + pages[0]).content.decode()
    assert client.get(base + "health/attachment/add/").status_code == 403
