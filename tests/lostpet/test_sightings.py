"""Finder reports: the form on the public page (CSRF on a cached page, JS-free and HTMX),
what is stored, who is alerted, what the owners see, and who may do what."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from pawfile.lib import registry
from pawfile.lostpet import sighting_contributions, sightings
from pawfile.lostpet.models import Sighting
from pawfile.notifications.models import Notification
from tests.api.conftest import ApiClient, access_token
from tests.lostpet.conftest import Lost

TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _registered():
    """Finder reports' contributions, registered before the rest of the app's (as
    ``contributions.register`` does), whatever ran before."""
    from pawfile.lostpet import contributions

    with registry.temporary_registrations():
        registry.unregister_app(contributions.APP)
        registry.unregister_app(sighting_contributions.APP)
        contributions.register()
        yield


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (120, 80), (30, 140, 60))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def finder_post(client: Client, slug: str, **fields):
    data = {"message": "He is with me near the bakery", **fields}
    return client.post(f"/p/{slug}/found/", data)


def report(lost: Lost, **fields) -> Sighting:
    values = {"message": "Seen by the river", **fields}
    return sightings.sighting_report(
        profile=lost.profile, report=sightings.FinderReport(**values), client_address="198.51.100.7"
    )


# --- The form and CSRF -------------------------------------------------------------------------


def test_form_on_cached_public_page_passes_a_real_csrf_check(lost: Lost) -> None:
    slug = lost.profile.slug
    warm = Client(enforce_csrf_checks=True)
    assert warm.get(f"/p/{slug}").status_code == 200  # fills the page cache
    visitor = Client(enforce_csrf_checks=True)  # a second visitor gets the cached page
    page = visitor.get(f"/p/{slug}")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'hx-get="/p/{slug}/found/"' in html and f'href="/p/{slug}/found/"' in html
    # Without a token: Django's CSRF check refuses.
    refused = visitor.post(f"/p/{slug}/found/", {"message": "Hi"})
    assert refused.status_code == 403
    # HTMX loads the uncached form: it carries a token and sets the cookie.
    fragment = visitor.get(f"/p/{slug}/found/", **HX)
    assert fragment.status_code == 200
    assert "no-store" in fragment["Cache-Control"] or "max-age=0" in fragment["Cache-Control"]
    assert "csrftoken" in fragment.cookies
    token = TOKEN_RE.search(fragment.content.decode()).group(1)
    sent = visitor.post(
        f"/p/{slug}/found/", {"message": "He is here", "csrfmiddlewaretoken": token}, **HX
    )
    assert sent.status_code == 200
    assert "The owner has been told" in sent.content.decode()
    assert Sighting.objects.get().message == "He is here"


def test_without_javascript_the_page_posts_and_redirects(lost: Lost) -> None:
    client = Client(enforce_csrf_checks=True)
    slug = lost.profile.slug
    page = client.get(f"/p/{slug}/found/")
    assert page.status_code == 200 and "Have you seen Rex?" in page.content.decode()
    token = TOKEN_RE.search(page.content.decode()).group(1)
    answer = client.post(
        f"/p/{slug}/found/",
        {"message": "Sitting by my door", "place_text": "Calle Mayor 3",
         "csrfmiddlewaretoken": token},
    )  # fmt: skip
    assert answer.status_code == 303 and answer["Location"] == f"/p/{slug}/found/?sent=1"
    assert "The owner has been told" in client.get(answer["Location"]).content.decode()
    sighting = Sighting.objects.get()
    assert sighting.place_text == "Calle Mayor 3" and sighting.location_source == "typed"


def test_unknown_slug_is_404(db) -> None:
    assert Client().get("/p/zzzzzzzzzzzzzz/found/").status_code == 404
    assert Client().post("/p/zzzzzzzzzzzzzz/found/", {"message": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"message": ""}, "This field is required"),
        ({"latitude": "91", "longitude": "2"}, "less than or equal to 90"),
        ({"latitude": "40.1"}, "The location is incomplete"),
        ({"name": "Bob\r\nBcc: x@example.org"}, "Use one line of plain text"),
        ({"email": "not-an-email"}, "Enter a valid email address"),
    ],
)
def test_bad_input_is_400_with_a_message(lost: Lost, fields, text) -> None:
    response = finder_post(Client(), lost.profile.slug, **fields)
    assert response.status_code == 400
    assert text in response.content.decode()
    assert not Sighting.objects.exists()


def test_a_file_that_is_not_an_image_is_refused(lost: Lost) -> None:
    upload = SimpleUploadedFile("rex.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    response = finder_post(Client(), lost.profile.slug, photo=upload)
    assert response.status_code == 400
    assert "SVG images are not accepted" in response.content.decode()
    assert not Sighting.objects.exists()


def test_honeypot_drops_the_report_silently(lost: Lost) -> None:
    response = finder_post(Client(), lost.profile.slug, website="http://spam.example")
    assert response.status_code == 303  # the bot sees the thank-you
    assert not Sighting.objects.exists()
    assert not Notification.objects.exists()


# --- Stored, alerted -------------------------------------------------------------------------


def test_report_stores_location_and_alerts_owner_and_caretaker_by_mail(
    lost: Lost, smtp_server, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = finder_post(
            Client(), lost.profile.slug, latitude="40.4167754", longitude="-3.7037902",
            email="finder@example.net",
        )  # fmt: skip
    assert response.status_code == 303
    sighting = Sighting.objects.get()
    assert (sighting.latitude, sighting.longitude) == (Decimal("40.41678"), Decimal("-3.70379"))
    assert sighting.location_source == "device" and sighting.alerted
    assert len(sighting.visitor) == 16 and "127.0.0.1" not in sighting.visitor
    alerted = set(Notification.objects.values_list("recipient__email", flat=True))
    assert alerted == {"alice@example.org", "bob@example.org"}  # not the viewer
    mail = smtp_server.wait_for(to="alice@example.org", subject_contains="Rex")
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert (
        "https://www.openstreetmap.org/?mlat=40.41678&mlon=-3.70379#map=17/40.41678/-3.70379"
        in body
    )
    assert "He is with me near the bakery" in body
    assert "finder@example.net" not in body  # not shared


def test_photo_is_reencoded_without_metadata(lost: Lost) -> None:
    upload = SimpleUploadedFile("cat.jpg", jpeg_with_gps(), content_type="image/jpeg")
    assert finder_post(Client(), lost.profile.slug, photo=upload).status_code == 303
    stored = default_storage.open(Sighting.objects.get().photo).read()
    assert b"SecretCam" not in stored
    assert Image.open(io.BytesIO(stored)).format == "JPEG"


def test_the_finders_contact_reaches_the_owner_only_when_shared(lost: Lost) -> None:
    report(lost, message="Private one", phone="+34 699 000 111", name="Quiet Quentin")
    report(lost, message="Open one", phone="+34 699 222 333", name="Open Olga",
           shares_contact=True)  # fmt: skip
    html = lost.cast.client_for("alice").get(f"/pets/{lost.pet.pk}/sightings/").content.decode()
    assert "Open Olga" in html and "+34 699 222 333" in html
    assert "Quiet Quentin" not in html and "+34 699 000 111" not in html


def test_owner_sees_reports_on_the_pet_page_and_marks_them_read(lost: Lost) -> None:
    sighting = report(lost, place_text="Plaza Mayor")
    alice = lost.cast.client_for("alice")
    page = alice.get(f"/pets/{lost.pet.pk}/").content.decode()
    assert "Reports from finders" in page and "Plaza Mayor" in page and "1 new" in page
    assert alice.post(f"/sightings/{sighting.pk}/read/").status_code == 302
    sighting.refresh_from_db()
    assert sighting.read_at is not None
    assert "1 new" not in alice.get(f"/pets/{lost.pet.pk}/").content.decode()


def test_times_are_shown_in_the_owners_zone(lost: Lost) -> None:
    import datetime as dt

    alice = lost.cast.alice
    alice.timezone = "America/Argentina/Buenos_Aires"
    alice.save()
    at = dt.datetime(2026, 3, 1, 15, 30, tzinfo=dt.UTC)
    sightings.sighting_report(
        profile=lost.profile, report=sightings.FinderReport(message="x"),
        client_address="198.51.100.9", now=at,
    )  # fmt: skip
    html = lost.cast.client_for("alice").get(f"/pets/{lost.pet.pk}/sightings/").content.decode()
    assert "2026-03-01T12:30:00-03:00" in html


# --- Who may do what -----------------------------------------------------------------------------

WHO = ["alice", "bob", "carol", "charlie", None]
WHO_IDS = ["owner", "caretaker", "viewer", "stranger", "anonymous"]
LOGIN = 302  # anonymous: to the login page
WEB = {
    "list": ("get", "/pets/{pet}/sightings/", [200, 200, 200, 404, LOGIN]),
    "photo": ("get", "/sightings/{s}/photo/", [200, 200, 200, 404, LOGIN]),
    "read": ("post", "/sightings/{s}/read/", [302, 302, 403, 404, LOGIN]),
    "read_all": ("post", "/pets/{pet}/sightings/read/", [302, 302, 403, 404, LOGIN]),
    "reply": ("post", "/sightings/{s}/reply/", [302, 302, 403, 404, LOGIN]),
    "delete": ("post", "/sightings/{s}/delete/", [302, 302, 403, 404, LOGIN]),
}


@pytest.mark.parametrize("endpoint", list(WEB))
@pytest.mark.parametrize("who", range(5), ids=WHO_IDS)
def test_web_access_table(lost: Lost, endpoint: str, who: int) -> None:
    upload = io.BytesIO(jpeg_with_gps())
    sighting = report(lost, photo=upload, email="finder@example.net")
    method, path, expected = WEB[endpoint]
    client = lost.cast.client_for(WHO[who])
    url = path.format(pet=lost.pet.pk, s=sighting.pk)
    response = getattr(client, method)(url, {"body": "Hello"} if method == "post" else None)
    assert response.status_code == expected[who]
    if WHO[who] is None:
        assert "/accounts/login/" in response["Location"]
    if endpoint == "delete":
        assert Sighting.objects.filter(pk=sighting.pk).exists() == (who > 1)


API = {
    "list": ("get", "/pets/{pet}/sightings", None, [200, 200, 200, 404, 401]),
    "detail": ("get", "/sightings/{s}", None, [200, 200, 200, 404, 401]),
    "read": ("post", "/sightings/{s}/read", {"read": True}, [200, 200, 403, 404, 401]),
    "reply": ("post", "/sightings/{s}/replies", {"body": "Hi"}, [201, 201, 403, 404, 401]),
    "delete": ("delete", "/sightings/{s}", None, [204, 204, 403, 404, 401]),
}


@pytest.mark.parametrize("endpoint", list(API))
@pytest.mark.parametrize("who", range(5), ids=WHO_IDS)
def test_api_access_table(lost: Lost, endpoint: str, who: int) -> None:
    sighting = report(lost, phone="+34 699 000 111", email="finder@example.net")
    method, path, body, expected = API[endpoint]
    name = WHO[who]
    client = ApiClient(access_token(getattr(lost.cast, name).email) if name else None)
    url = path.format(pet=lost.pet.pk, s=sighting.pk)
    response = client.request(method, url, body)
    assert response.status_code == expected[who], response.content
    if endpoint == "list" and response.status_code == 200:
        (row,) = response.json()
        assert row["message"] == "Seen by the river"
        assert row["finder_phone"] is None and row["finder_email"] is None  # not shared
        assert row["can_reply"] is True


def test_api_refuses_bad_input(lost: Lost) -> None:
    sighting = report(lost)
    client = ApiClient(access_token("alice@example.org"))
    response = client.post(f"/sightings/{sighting.pk}/replies", {"body": ""})
    assert response.status_code == 422
    assert client.get("/sightings/99999999").status_code == 404
    assert client.get("/sightings/99999999999999999999").status_code in (404, 422)


# --- Export and deletion -------------------------------------------------------------------------


def test_export_has_sightings_and_replies_and_deletion_lists_photos(lost: Lost) -> None:
    shared = report(lost, name="Olga", shares_contact=True, photo=io.BytesIO(jpeg_with_gps()))
    report(lost, name="Hidden Hugo")
    sightings.sighting_reply(actor=lost.cast.alice, sighting_id=shared.pk, body="Thanks")
    rows, files = registry.export_sections(user=lost.cast.carol)
    exported = rows["lost_pet_sightings"]
    assert len(exported) == 2
    by_name = {row["finder_name"]: row for row in exported}
    assert by_name["Olga"]["replies"][0]["body"] == "Thanks"
    assert "Hidden Hugo" not in str(exported)
    assert [f.storage_name for f in files if f.storage_name.startswith("lostpet/")] == [
        shared.photo
    ]
    assert registry.export_sections(user=lost.cast.charlie)[0]["lost_pet_sightings"] == []
    names = registry.deletion_files("pets", type(lost.pet).objects.filter(pk=lost.pet.pk))
    assert shared.photo in names


def test_a_tag_scan_is_listed_as_a_scan(lost: Lost) -> None:
    Sighting.objects.create(profile=lost.profile, source="scan", code_id="abcdefghjk")
    client = lost.cast.client_for("bob")
    html = client.get(f"/pets/{lost.pet.pk}/sightings/").content.decode()
    assert "Someone scanned the tag abcdefghjk" in html
    assert "The finder left no way to answer them" not in html
    assert "The tag was scanned." in client.get(f"/pets/{lost.pet.pk}/").content.decode()


def test_a_phone_sized_photo_is_accepted_and_an_oversized_one_refused(lost: Lost) -> None:
    import random

    rng = random.Random(7)
    noise = Image.frombytes("RGB", (1800, 1350), rng.randbytes(1800 * 1350 * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=95)
    assert out.tell() > 2 * 1024 * 1024  # over the 1 MB of an ordinary form
    upload = SimpleUploadedFile("phone.jpg", out.getvalue(), "image/jpeg")
    assert finder_post(Client(), lost.profile.slug, photo=upload).status_code == 303
    assert Sighting.objects.get().photo
    big = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * (16 * 1024 * 1024), "image/jpeg")
    response = finder_post(Client(), lost.profile.slug, photo=big)
    assert response.status_code == 413
    assert Sighting.objects.count() == 1
