"""Data export: ask, get an email with a link, download a zip with every row and file, once."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail, signing
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from pawfile.accounts import invitations
from pawfile.accounts.models import Household, User
from pawfile.health import services as health_services
from pawfile.health.models import Attachment, HealthRecord
from pawfile.pets import services as pet_services
from pawfile.pets.models import Contact, Note, Pet, Photo
from pawfile.pets.photos import photo_add
from pawfile.privacy import export
from pawfile.privacy.models import DataExport, DataExportStatus
from tests.conftest import Cast

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def jpeg_bytes(colour: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    """A real JPEG photo (a gradient, so the encoder has something to do)."""
    image = Image.new("RGB", (640, 480), colour)
    for x in range(0, 640, 8):
        for y in range(0, 480, 8):
            image.putpixel((x, y), (x % 256, y % 256, (x + y) % 256))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@dataclass
class AliceData:
    pets: list[Pet]
    photo: Photo
    attachment: Attachment
    stranger_pet: Pet


def alice_data(cast: Cast, rex: Pet) -> AliceData:
    """Alice's household with 2 pets, a photo, a PDF, notes, records, contacts; bob and carol
    are in it too; charlie has a pet of his own that must never show up in her export."""
    alice, bob = cast.alice, cast.bob
    mia = pet_services.pet_create(actor=alice, household=cast.household, name="Mia", species="cat")
    photo = photo_add(actor=alice, pet=rex, upload=io.BytesIO(jpeg_bytes()), caption="Beach")
    rabies = health_services.record_create(
        actor=alice,
        pet=rex,
        kind="vaccination",
        name="Rabies",
        date=date(2024, 5, 1),
        next_due=date(2027, 5, 1),
    )
    health_services.weight_record(actor=bob, pet=mia, value="4.2", unit="kg")
    health_services.record_create(actor=alice, pet=mia, kind="allergy", name="Chicken")
    attachment = health_services.attachment_add(
        actor=alice, record=rabies, upload=io.BytesIO(PDF), filename="rabies.pdf"
    )
    pet_services.note_create(actor=alice, pet=rex, title="Walks", body_html="<p>Twice a day</p>")
    pet_services.note_create(actor=bob, pet=mia, body_html="<p>Hides under the bed</p>")
    pet_services.contact_create(
        actor=alice, household=cast.household, name="Dr Vet", phone="+34 600 000 000",
        pet_ids=[rex.pk, mia.pk],
    )  # fmt: skip
    invitations.invitation_create(
        household=cast.household, actor=alice, email="dana@example.org", role="viewer"
    )
    charlie_home = Household.objects.get(memberships__user=cast.charlie)
    stranger_pet = pet_services.pet_create(
        actor=cast.charlie, household=charlie_home, name="Zorro", species="dog"
    )
    photo_add(actor=cast.charlie, pet=stranger_pet, upload=io.BytesIO(jpeg_bytes((0, 90, 200))))
    return AliceData([rex, mia], photo, attachment, stranger_pet)


def export_request(client: Client, capture) -> str:
    """Ask for an export as ``client``; run the build; return the download path from the email."""
    with capture(execute=True):
        response = client.post(reverse("data_export_request"))
    assert response.status_code == 302
    message = mail.outbox[-1]
    assert message.subject.endswith("Your Pawfile data export is ready")
    match = re.search(r"https?://\S+/data/exports/\S+/download/", message.body)
    assert match, message.body
    assert match.group(0).startswith(settings.PAWFILE_BASE_URL)
    return urlsplit(match.group(0)).path


def download(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    return b"".join(response.streaming_content)  # closing the stream deletes the file


def ids(rows: list[dict]) -> list[int]:
    return sorted(row["id"] for row in rows)


def pks(queryset) -> list[int]:
    return sorted(queryset.values_list("pk", flat=True))


def test_export_holds_every_row_and_file_and_the_link_works_once(
    cast: Cast, pet: Pet, django_capture_on_commit_callbacks
) -> None:
    data = alice_data(cast, pet)
    alice = cast.client_for("alice")
    url = export_request(alice, django_capture_on_commit_callbacks)
    body = mail.outbox[-1].body
    assert "only once" in body and "It expires on" in body
    assert "&#x27;" not in body and "&amp;" not in body  # plain text, unescaped
    item = DataExport.objects.get(user=cast.alice)
    assert item.status == DataExportStatus.READY
    assert item.file_name.startswith("exports/") and default_storage.exists(item.file_name)
    assert item.expires_at - item.ready_at <= timedelta(hours=48, seconds=5)
    assert item.token_hash and item.token_hash not in url  # only the hash is stored

    # Nobody else may use the link, and trying does not use it up.
    assert cast.client_for("bob").get(url).status_code == 404
    assert Client().get(url).status_code == 302  # anonymous: sign in first

    archive = zipfile.ZipFile(io.BytesIO(download(alice, url)))
    doc = json.loads(archive.read("export.json"))
    household = cast.household
    assert doc["format"] == "pawfile-export" and doc["version"] == export.FORMAT_VERSION
    assert doc["user"]["email"] == "alice@example.org" and doc["user"]["id"] == cast.alice.pk
    assert "password" not in doc["user"]
    assert cast.alice.password not in archive.read("export.json").decode()
    assert doc["email_addresses"] == [
        {"email": "alice@example.org", "primary": True, "verified": True}
    ]
    assert [m["household_id"] for m in doc["memberships"]] == [household.pk]
    (exported_household,) = doc["households"]
    assert exported_household["id"] == household.pk
    assert {m["email"]: m["role"] for m in exported_household["members"]} == {
        "alice@example.org": "owner",
        "bob@example.org": "caretaker",
        "carol@example.org": "viewer",
    }
    assert [i["email"] for i in doc["invitations_sent"]] == ["dana@example.org"]
    assert (
        ids(doc["pets"])
        == pks(Pet.objects.filter(household=household))
        == sorted(p.pk for p in data.pets)
    )
    assert ids(doc["contacts"]) == pks(Contact.objects.filter(household=household))
    assert doc["contacts"][0]["pet_ids"] == sorted(p.pk for p in data.pets)
    assert ids(doc["notes"]) == pks(Note.objects.filter(pet__household=household))
    assert len(doc["notes"]) == 2
    assert ids(doc["photos"]) == pks(Photo.objects.filter(pet__household=household))
    assert ids(doc["health_records"]) == pks(HealthRecord.objects.filter(pet__household=household))
    assert len(doc["health_records"]) == 3
    assert ids(doc["attachments"]) == pks(
        Attachment.objects.filter(record__pet__household=household)
    )
    weight = next(r for r in doc["health_records"] if r["kind"] == "weight")
    assert weight["weight_grams"] == 4200
    assert doc["files_missing"] == []
    # Charlie's pet is not Alice's business.
    assert "Zorro" not in archive.read("export.json").decode()
    assert data.stranger_pet.pk not in ids(doc["pets"])

    # Every file named in the JSON is in the zip with the stored bytes, and nothing else is.
    photo_row = doc["photos"][0]
    assert photo_row["file"] == f"files/{data.photo.path('full', 'jpeg')}"
    with default_storage.open(data.photo.path("full", "jpeg"), "rb") as stored:
        assert archive.read(photo_row["file"]) == stored.read()
    assert archive.read(photo_row["file"]).startswith(b"\xff\xd8")  # a JPEG
    attachment_row = doc["attachments"][0]
    assert attachment_row["original_name"] == "rabies.pdf"
    with default_storage.open(data.attachment.file.name, "rb") as stored:
        assert archive.read(attachment_row["file"]) == stored.read() == PDF
    referenced = {row["file"] for row in doc["photos"] + doc["attachments"]}
    assert {n for n in archive.namelist() if n != "export.json"} == referenced

    # Once: the file is gone from storage and the link now says so.
    item.refresh_from_db()
    assert item.status == DataExportStatus.DOWNLOADED and item.downloaded_at
    assert not default_storage.exists(item.file_name)
    again = alice.get(url)
    assert again.status_code == 410
    assert "already downloaded" in again.content.decode()
    assert cast.client_for("bob").get(url).status_code == 404


def test_forged_altered_and_expired_links(
    cast: Cast, pet: Pet, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    alice = cast.client_for("alice")
    url = export_request(alice, django_capture_on_commit_callbacks)
    token = url.split("/")[-3]
    item = DataExport.objects.get(user=cast.alice)

    forged = reverse("data_export_download", kwargs={"token": "not-a-token"})
    response = alice.get(forged)
    assert response.status_code == 404
    assert "This download link is not valid" in response.content.decode()
    # Well signed, but with a token that is not the one mailed (the hash does not match).
    other = signing.dumps({"e": item.pk, "t": "guess"}, salt=export.EXPORT_SALT)
    assert alice.get(reverse("data_export_download", kwargs={"token": other})).status_code == 404
    # Signed with another salt (e.g. an invitation token) is refused too.
    wrong_salt = signing.dumps({"e": item.pk, "t": "x"}, salt=invitations.INVITATION_SALT)
    assert alice.get(f"/data/exports/{wrong_salt}/download/").status_code == 404

    monkeypatch.setattr(export, "EXPORT_LINK_MAX_AGE", -1)  # the signature is now too old
    response = alice.get(url)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    monkeypatch.undo()

    DataExport.objects.filter(pk=item.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert alice.get(url).status_code == 410
    assert default_storage.exists(item.file_name)  # a refused link deletes nothing
    assert token in url


def test_periodic_task_deletes_expired_exports(
    cast: Cast, pet: Pet, django_capture_on_commit_callbacks
) -> None:
    from pawfile.privacy import tasks

    url = export_request(cast.client_for("alice"), django_capture_on_commit_callbacks)
    item = DataExport.objects.get(user=cast.alice)
    tasks.data_exports_expire()
    assert default_storage.exists(item.file_name)  # still within its 48 hours

    DataExport.objects.filter(pk=item.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    tasks.data_exports_expire()
    item.refresh_from_db()
    assert item.status == DataExportStatus.EXPIRED and item.file_name == ""
    assert not any(p.is_file() for p in (settings.MEDIA_ROOT / "exports").rglob("*"))
    assert cast.client_for("alice").get(url).status_code == 410


def test_one_export_at_a_time_and_a_new_one_replaces_a_ready_one(
    cast: Cast, pet: Pet, django_capture_on_commit_callbacks
) -> None:
    alice = cast.client_for("alice")
    first_url = export_request(alice, django_capture_on_commit_callbacks)
    first = DataExport.objects.get(user=cast.alice)

    # Without running the build, the second request stays pending...
    response = alice.post(reverse("data_export_request"), follow=True)
    assert "being prepared" in response.content.decode()
    first.refresh_from_db()
    assert first.status == DataExportStatus.EXPIRED  # ...and the ready one is superseded
    assert alice.get(first_url).status_code == 410
    # ...so a third is refused with a message while the second is pending.
    response = alice.post(reverse("data_export_request"), follow=True)
    assert "already being prepared" in response.content.decode()
    assert DataExport.objects.filter(user=cast.alice).count() == 2


def test_a_missing_file_is_listed_not_fatal(
    cast: Cast, pet: Pet, django_capture_on_commit_callbacks
) -> None:
    data = alice_data(cast, pet)
    default_storage.delete(data.attachment.file.name)
    alice = cast.client_for("alice")
    archive = zipfile.ZipFile(
        io.BytesIO(download(alice, export_request(alice, django_capture_on_commit_callbacks)))
    )
    doc = json.loads(archive.read("export.json"))
    assert doc["files_missing"] == [f"files/{data.attachment.file.name}"]
    assert len(doc["attachments"]) == 1


def test_export_of_a_caretaker_covers_the_shared_household(
    cast: Cast, pet: Pet, django_capture_on_commit_callbacks
) -> None:
    alice_data(cast, pet)
    bob = cast.client_for("bob")
    archive = zipfile.ZipFile(
        io.BytesIO(download(bob, export_request(bob, django_capture_on_commit_callbacks)))
    )
    doc = json.loads(archive.read("export.json"))
    assert {h["id"] for h in doc["households"]} == {
        cast.household.pk,
        Household.objects.get(memberships__user=cast.bob, memberships__role="owner").pk,
    }
    assert sorted(p["name"] for p in doc["pets"]) == ["Mia", "Rex"]
    assert doc["invitations_sent"] == []  # alice sent the invitation, not bob
    assert len(doc["photos"]) == 1 and len(doc["attachments"]) == 1


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "charlie"])
def test_every_member_sees_their_own_data_page(cast: Cast, who: str) -> None:
    response = cast.client_for(who).get(reverse("data_index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ask for a copy of my data" in html and reverse("account_delete") in html


@pytest.mark.parametrize(
    ("method", "name", "kwargs"),
    [
        ("get", "data_index", {}),
        ("post", "data_export_request", {}),
        ("get", "data_export_download", {"token": "x"}),
        ("get", "account_delete", {}),
    ],
)
def test_anonymous_is_sent_to_sign_in(method: str, name: str, kwargs: dict) -> None:
    response = getattr(Client(), method)(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_data_page_over_htmx_returns_the_export_list(cast: Cast) -> None:
    alice = cast.client_for("alice")
    response = alice.post(reverse("data_export_request"), HTTP_HX_REQUEST="true", follow=True)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="data-exports">')
    assert "Being prepared" in html and 'hx-swap-oob="innerHTML"' in html


def test_a_failed_build_says_so_and_another_can_be_asked_for(
    cast: Cast, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    def broken(*, user: User) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export, "export_document", broken)
    alice = cast.client_for("alice")
    with django_capture_on_commit_callbacks(execute=True):
        alice.post(reverse("data_export_request"))
    assert mail.outbox == []
    item = DataExport.objects.get(user=cast.alice)
    assert item.status == DataExportStatus.FAILED and item.file_name == ""
    assert "Something went wrong" in alice.get(reverse("data_index")).content.decode()
    assert not (settings.MEDIA_ROOT / "exports").exists() or not any(
        p.is_file() for p in (settings.MEDIA_ROOT / "exports").rglob("*")
    )
    monkeypatch.undo()
    export_request(alice, django_capture_on_commit_callbacks)  # asking again works


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 200), ("bob", 404), ("carol", 404), ("charlie", 404), (None, 302)],
)
def test_download_link_access_table(
    cast: Cast, django_capture_on_commit_callbacks, who: str | None, status: int
) -> None:
    """Alice's link: only Alice; her household's caretaker and viewer are strangers to it."""
    url = export_request(cast.client_for("alice"), django_capture_on_commit_callbacks)
    response = cast.client_for(who).get(url)
    assert response.status_code == status
    if status == 200:
        b"".join(response.streaming_content)
    else:
        assert DataExport.objects.get(user=cast.alice).status == DataExportStatus.READY
