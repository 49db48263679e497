"""The public page ``/p/{slug}``: what a finder sees, and nothing else.

The private-field test renders the page of a pet with everything filled in (every switch on,
lost) and asserts that no private value is anywhere in the HTML; the public ones are there.
"""

from __future__ import annotations

import html
import io

import pytest
from django.test import Client
from django.utils import translation

from pawfile.lostpet import services
from pawfile.lostpet.choices import ContactMode
from pawfile.lostpet.models import PublicProfile
from pawfile.pets import photos
from pawfile.pets import services as pet_services
from tests.conftest import response_close
from tests.lostpet.conftest import PRIVATE, PUBLIC, Lost, photo_upload

pytestmark = pytest.mark.django_db


def page(client: Client, slug: str, **headers: str) -> tuple[int, str]:
    response = client.get(f"/p/{slug}", **headers)
    return response.status_code, html.unescape(response.content.decode())


def test_every_private_value_is_absent(lost: Lost) -> None:
    status, body = page(Client(), lost.profile.slug)
    assert status == 200
    for label, value in PRIVATE.items():
        assert value.lower() not in body.lower(), f"{label} leaked: {value!r}"
    for label, value in PUBLIC.items():
        assert value in body, f"{label} missing: {value!r}"
    # Not even the pet's internal id or the household's
    assert f"/pets/{lost.pet.pk}/" not in body
    assert "households/" not in body


def test_lost_banner_contacts_links_and_medical_notes(lost: Lost) -> None:
    _status, body = page(Client(), lost.profile.slug)
    assert "I am lost" in body
    assert 'href="tel:+34655444321"' in body
    assert 'href="https://wa.me/34655444321"' in body
    assert f'href="mailto:{PUBLIC["contact email"]}"' in body
    assert "Beagle" in body and "Male" in body
    assert "3\xa0years" in body or "3 years" in body
    assert "Apoquel" in body and "Chicken" in body and "Penicillin" in body


def test_found_again_clears_the_banner(lost: Lost) -> None:
    services.found_mark(actor=lost.cast.alice, pet=lost.pet)
    _status, body = page(Client(), lost.profile.slug)
    assert "I am lost" not in body
    assert PUBLIC["reward"] not in body
    assert PUBLIC["last seen place"] not in body
    profile = PublicProfile.objects.get(pk=lost.profile.pk)
    assert profile.found_at is not None and not profile.is_lost


def test_switches_off_hide_everything_but_the_name(lost: Lost) -> None:
    services.profile_update(
        actor=lost.cast.alice,
        pet=lost.pet,
        **{name: False for name in services.VISIBILITY_FIELDS},
        contact_mode=ContactMode.FORM,
        public_message="",
    )
    services.found_mark(actor=lost.cast.alice, pet=lost.pet)
    _status, body = page(Client(), lost.profile.slug)
    assert "Rex" in body
    for label in ("breed", "allergy text", "allergy record", "medication", "special needs",
                  "contact name", "contact phone", "contact email", "public message"):  # fmt: skip
        assert PUBLIC[label] not in body, label
    assert "Male" not in body
    assert "/photo/" not in body
    assert "tel:" not in body and "mailto:" not in body and "wa.me" not in body


def test_contacts_behind_the_form_are_not_shown(lost: Lost) -> None:
    services.profile_update(actor=lost.cast.alice, pet=lost.pet, contact_mode=ContactMode.FORM)
    _status, body = page(Client(), lost.profile.slug)
    assert PUBLIC["contact phone"] not in body
    assert PUBLIC["contact email"] not in body
    assert "tel:" not in body


def test_unknown_slug_is_404_and_says_so(lost: Lost) -> None:
    for slug in ("abcdefghjkmnpq", "short", lost.profile.slug[:-1] + "z" * 1):
        if slug == lost.profile.slug:
            continue
        response = Client().get(f"/p/{slug}")
        assert response.status_code == 404
    assert Client().get("/p/UPPERCASE").status_code == 404


def test_anonymous_page_sets_no_cookie(lost: Lost) -> None:
    response = Client().get(f"/p/{lost.profile.slug}")
    assert response.status_code == 200
    assert not response.cookies, dict(response.cookies)
    assert "Set-Cookie" not in response.headers


def test_signed_in_visitor_sees_the_same_public_page(lost: Lost) -> None:
    status, body = page(lost.cast.client_for("charlie"), lost.profile.slug)
    assert status == 200
    for value in PRIVATE.values():
        assert value.lower() not in body.lower()


def test_spanish_page(lost: Lost) -> None:
    _status, body = page(Client(), lost.profile.slug, HTTP_ACCEPT_LANGUAGE="es")
    translation.deactivate()
    assert 'lang="es"' in body
    assert "I am lost" not in body  # translated


def test_page_is_cached_and_follows_every_change(lost: Lost, django_assert_max_num_queries) -> None:
    client = Client()
    slug = lost.profile.slug
    page(client, slug)
    with django_assert_max_num_queries(2):  # the revisions; the body comes from the cache
        status, body = page(client, slug)
    assert status == 200 and "Rex" in body
    alice, pet = lost.cast.alice, lost.pet
    # A pet edit
    pet_services.pet_update(actor=alice, pet=pet, name="Rexy")
    assert "Rexy" in page(client, slug)[1]
    # A contact change
    pet_services.contact_update(actor=alice, contact=lost.public_contact, phone="+34 600 000 111")
    assert "tel:+34600000111" in page(client, slug)[1]
    # A new primary photo
    photo = photos.photo_add(actor=alice, pet=pet, upload=photo_upload((10, 200, 10)), primary=True)
    assert str(photo.key) in page(client, slug)[1]
    # The owner's choices
    services.profile_update(actor=alice, pet=pet, public_message="Likes cheese")
    assert "Likes cheese" in page(client, slug)[1]
    # Medication ends
    from pawfile.health import services as health_services
    from pawfile.health.models import HealthRecord

    medication = HealthRecord.objects.get(pet=pet, name=PUBLIC["medication"])
    health_services.record_delete(actor=alice, record=medication)
    assert PUBLIC["medication"] not in page(client, slug)[1]


def test_conditional_get_answers_304(lost: Lost) -> None:
    client = Client()
    first = client.get(f"/p/{lost.profile.slug}")
    again = client.get(f"/p/{lost.profile.slug}", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    services.lost_mark(actor=lost.cast.alice, pet=lost.pet, reward="500 EUR")
    changed = client.get(f"/p/{lost.profile.slug}", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and "500 EUR" in changed.content.decode()


def test_public_photo_only_for_a_shown_primary_photo(lost: Lost) -> None:
    slug, key = lost.profile.slug, lost.photo.key
    url = f"/p/{slug}/photo/{key}-card.webp"
    response = Client().get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    data = b"".join(response.streaming_content)
    response_close(response)
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    # Not another pet's photo through this page, not a non-primary photo, not once hidden.
    other = photos.photo_add(
        actor=lost.cast.alice, pet=lost.pet, upload=photo_upload(), primary=False
    )
    assert Client().get(f"/p/{slug}/photo/{other.key}-card.webp").status_code == 404
    assert Client().get(f"/p/{slug}/photo/{key}-huge.webp").status_code == 404
    services.profile_update(actor=lost.cast.alice, pet=lost.pet, show_photo=False)
    assert Client().get(url).status_code == 404
    # The household's own photo address still needs a session.
    assert Client().get(f"/photos/{key}/card.webp").status_code == 302


def test_slug_is_random_and_unguessable(cast, pet) -> None:
    from pawfile.pets.models import Pet

    second = Pet.objects.create(household=cast.household, name="Mia", species="cat")
    one = services.profile_for_pet(pet)
    two = services.profile_for_pet(second)
    assert one.slug != two.slug
    assert len(one.slug) >= 12
    assert set(one.slug) <= set(services.SLUG_ALPHABET)
    assert str(pet.pk) != one.slug
    assert services.profile_for_pet(pet).slug == one.slug  # stable


# --- The layer in front of Django (fastpage.py, as config/wsgi.py serves) ------------------------


@pytest.fixture
def front():
    """``public_page_fast`` around Django's own WSGI handler, counting what reaches Django.
    Django's connection clean-up at the end of a request is held off (the test's transaction
    holds the connection), as the test client does."""
    from django.core import signals
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import close_old_connections

    from pawfile.lostpet import fastpage

    django_app = WSGIHandler()
    reached: list[str] = []

    def counting(meta, start_response):
        reached.append(meta["PATH_INFO"])
        return django_app(meta, start_response)

    layer = fastpage.public_page_fast(counting)
    fastpage.pages_forget()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)

    def call(path: str, method: str = "GET", **extra: str):
        meta = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "testserver", "SERVER_PORT": "80", "REMOTE_ADDR": "203.0.113.9",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), **extra,
        }  # fmt: skip
        got: dict = {}

        def start_response(status, headers, *exc):
            got["status"], got["headers"] = status, dict(headers)

        body = b"".join(layer(meta, start_response))
        return int(got["status"][:3]), got["headers"], body.decode()

    try:
        yield call, reached
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        fastpage.pages_forget()


def test_front_layer_replays_a_drawn_page_until_it_changes(lost: Lost, front) -> None:
    call, reached = front
    path = f"/p/{lost.profile.slug}"
    first = call(path)
    assert first[0] == 200 and PUBLIC["reward"] in first[2]
    assert reached == [path]
    again = call(path)
    assert again[0] == 200 and again[2] == first[2]
    assert reached == [path]  # answered in front of Django
    assert again[1]["Content-Security-Policy"] == first[1]["Content-Security-Policy"]
    assert "X-Request-Id" not in again[1] and "Set-Cookie" not in again[1]
    # 304 and HEAD from the layer too
    assert call(path, HTTP_IF_NONE_MATCH=first[1]["ETag"])[0] == 304
    head = call(path, "HEAD")
    assert head[0] == 200 and head[2] == "" and reached == [path]
    # A change reaches the next visitor at once, drawn by the layer itself
    services.lost_mark(actor=lost.cast.alice, pet=lost.pet, reward="1,000 EUR")
    changed = call(path)
    assert "1,000 EUR" in html.unescape(changed[2]) and reached == [path]
    assert changed[1]["ETag"] != first[1]["ETag"]
    pet_services.pet_update(actor=lost.cast.alice, pet=lost.pet, name="Rexy")
    assert "Rexy" in call(path)[2] and reached == [path]


def test_front_layer_keys_language_and_passes_sessions_and_unknowns(lost: Lost, front) -> None:
    call, reached = front
    path = f"/p/{lost.profile.slug}"
    call(path)
    spanish = call(path, HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    translation.deactivate()
    assert 'lang="es"' in spanish[2] and len(reached) == 2
    assert 'lang="es"' in call(path, HTTP_ACCEPT_LANGUAGE="es")[2] and len(reached) == 2
    session = call(path, HTTP_COOKIE="sessionid=abc")
    assert session[0] == 200 and len(reached) == 3  # a signed-in visitor: Django
    call(path, HTTP_COOKIE="sessionid=abc")
    assert len(reached) == 4
    assert call("/p/abcdefghjkmnpq")[0] == 404 and len(reached) == 5
    assert call(path, "POST")[0] in (403, 405)  # Django: CSRF, then the method
