"""A fresh draw of the public page: one query (``public_query``), the page written in Python
(``public_html``), and the layer in front of Django (``fastpage``) drawing it itself.

The one-query projection is compared with the ORM's on Rex with every field filled (and
with the switches off, found again, contacts behind the form); the layer's page with
Django's own answer for the same key, byte for byte, headers included.
"""

from __future__ import annotations

import datetime as dt
import html
import zoneinfo

import pytest
from django.urls import NoReverseMatch, reverse, set_script_prefix
from django.utils import timezone, translation
from django.utils.formats import date_format

from pawfile.health import services as health_services
from pawfile.lostpet import (
    cache,
    fastpage,
    public_html,
    public_query,
    public_urls,
    selectors,
    services,
)
from pawfile.lostpet.choices import ContactMode
from pawfile.pets import services as pet_services
from tests.lostpet.conftest import PRIVATE, PUBLIC, Lost
from tests.lostpet.test_public_page import front  # noqa: F401 (the layer around Django)

pytestmark = pytest.mark.django_db


def _both(slug: str) -> tuple[selectors.PublicPet, selectors.PublicPet]:
    today = timezone.localdate()
    found = public_query.public_pet_fetch(slug, today=today)
    assert found is not None
    profile = selectors.profile_by_slug(slug)
    assert profile is not None
    orm = selectors.public_pet(profile=profile, pet=profile.pet, today=today)
    stamp = selectors.page_stamp(slug)
    assert found[0] == stamp
    return found[1], orm


def test_one_query_gives_what_the_orm_gives(lost: Lost, django_assert_num_queries) -> None:
    slug, alice, pet = lost.profile.slug, lost.cast.alice, lost.pet
    with django_assert_num_queries(1):
        public_query.public_pet_fetch(slug, today=timezone.localdate())
    one, orm = _both(slug)
    assert one == orm
    # Everything public is there (contacts, photo, care, lost details), in order
    assert one.contacts and one.photo_url and one.medications and one.is_lost
    assert one.allergies == [PUBLIC["allergy text"], PUBLIC["allergy record"]]
    assert one.reward == PUBLIC["reward"] and one.birth_date is not None
    # A second shown contact comes after the first, as the ORM orders them
    pet_services.contact_create(
        actor=alice, household=lost.cast.household, pet_ids=[pet.pk], name="Zed",
        phone="+34 600 123 456", show_on_public_page=True,
    )  # fmt: skip
    one, orm = _both(slug)
    assert one == orm and [c.name for c in one.contacts] == [PUBLIC["contact name"], "Zed"]
    # Contacts behind the form, found again
    services.profile_update(actor=alice, pet=pet, contact_mode=ContactMode.FORM)
    services.found_mark(actor=alice, pet=pet)
    one, orm = _both(slug)
    assert one == orm and not one.contacts and not one.is_lost and not one.reward
    # Every switch off
    services.profile_update(
        actor=alice, pet=pet, **dict.fromkeys(services.VISIBILITY_FIELDS, False)
    )
    one, orm = _both(slug)
    assert one == orm
    assert not (one.photo_url or one.species or one.allergies or one.medications or one.sex)


def test_one_query_reads_only_current_medication_and_shown_records(lost: Lost) -> None:
    """The query leaves out what the page would drop anyway (medication not current on the
    day, records of a hidden kind), and both paths still agree."""
    alice, pet, slug = lost.cast.alice, lost.pet, lost.profile.slug
    today = timezone.localdate()
    record = health_services.record_create
    record(actor=alice, pet=pet, kind="medication", date=today + dt.timedelta(days=1),
           name="Starts later")  # fmt: skip
    record(actor=alice, pet=pet, kind="medication", date=today - dt.timedelta(days=9),
           end_date=today, name="Last dose today")  # fmt: skip
    record(actor=alice, pet=pet, kind="medication", date=today - dt.timedelta(days=9),
           end_date=today - dt.timedelta(days=1), name="Ended yesterday")  # fmt: skip
    one, orm = _both(slug)
    assert one == orm
    assert [m.name for m in one.medications] == ["Apoquel", "Last dose today"]
    assert one.allergies == [PUBLIC["allergy text"], PUBLIC["allergy record"]]
    services.profile_update(actor=alice, pet=pet, show_allergies=False)
    one, orm = _both(slug)
    assert one == orm and not one.allergies and len(one.medications) == 2
    services.profile_update(actor=alice, pet=pet, show_allergies=True, show_medication=False)
    one, orm = _both(slug)
    assert one == orm and not one.medications and len(one.allergies) == 2


def test_public_addresses_are_what_reverse_gives(lost: Lost) -> None:
    slug, key = lost.profile.slug, str(lost.photo.key)
    photo = {"slug": slug, "key": key, "variant": "card", "fmt": "webp"}
    assert public_urls.finder_url(slug) == reverse("lostpet:finder", args=[slug])
    assert public_urls.photo_url(slug, key) == reverse("lostpet:public_photo", kwargs=photo)
    set_script_prefix("/pets-site/")
    try:
        assert public_urls.finder_url(slug) == f"/pets-site/p/{slug}/found/"
        assert public_urls.photo_url(slug, key, "thumb") == reverse(
            "lostpet:public_photo", kwargs={**photo, "variant": "thumb"}
        )
    finally:
        set_script_prefix("/")
    # A value the pieces cannot take goes through reverse() (which refuses it here)
    with pytest.raises(NoReverseMatch):
        public_urls.finder_url("Not A Slug")


def test_last_seen_follows_language_and_zone(lost: Lost) -> None:
    seen = lost.profile.last_seen_at
    assert seen is not None
    for language, zone in (("en", "UTC"), ("es", "UTC"), ("es", "America/New_York")):
        local = timezone.localtime(seen, zoneinfo.ZoneInfo(zone))
        with translation.override(language):
            expected = html.escape(date_format(local, "DATETIME_FORMAT"))
            drawn = public_html._when(language, local.replace(tzinfo=None), local.tzinfo)
        assert drawn == expected


def test_unknown_or_malformed_slug_is_none(lost: Lost) -> None:
    today = timezone.localdate()
    assert public_query.public_pet_fetch("abcdefghjkmnpq", today=today) is None
    assert public_query.public_pet_fetch("x' OR 1=1 --", today=today) is None


def test_layer_draws_the_page_django_draws(lost: Lost, front, settings) -> None:  # noqa: F811
    """With the cache off every visit is drawn: the first by Django (its headers are learnt),
    the next ones by the layer, with the same bytes and headers, one query each."""
    settings.PAWFILE_PUBLIC_PAGE_CACHE = False
    call, reached = front
    path = f"/p/{lost.profile.slug}"
    by_django = call(path)
    by_layer = call(path)
    assert reached == [path]
    assert by_layer[0] == 200 and by_layer[2] == by_django[2]
    dropped = {"x-request-id", "date", "content-length"}
    assert {k: v for k, v in by_django[1].items() if k.lower() not in dropped} == {
        k: v for k, v in by_layer[1].items() if k.lower() not in dropped
    }
    body = html.unescape(by_layer[2])
    for label, value in PRIVATE.items():
        assert value.lower() not in body.lower(), f"{label} leaked: {value!r}"
    for label, value in PUBLIC.items():
        assert value in body, f"{label} missing: {value!r}"
    # Every change is seen by the next visit; nothing is kept
    services.lost_mark(actor=lost.cast.alice, pet=lost.pet, reward="300 EUR")
    assert "300 EUR" in call(path)[2] and reached == [path]
    assert not fastpage._pages
    assert call(path, HTTP_IF_NONE_MATCH=call(path)[1]["ETag"])[0] == 304


def test_layer_draws_in_one_query_per_visit(lost: Lost, front, settings) -> None:  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call, _reached = front
    path = f"/p/{lost.profile.slug}"
    call(path)  # Django: the headers are learnt
    settings.PAWFILE_PUBLIC_PAGE_CACHE = False
    with CaptureQueriesContext(connection) as drawn:
        call(path)
    settings.PAWFILE_PUBLIC_PAGE_CACHE = True
    pet_services.pet_update(actor=lost.cast.alice, pet=lost.pet, name="Rexy")
    with CaptureQueriesContext(connection) as changed:  # the revisions, then the page
        assert "Rexy" in call(path)[2]
    with CaptureQueriesContext(connection) as held:
        assert "Rexy" in call(path)[2]
    assert (len(drawn), len(changed), len(held)) == (1, 2, 1)


def test_layer_escapes_and_translates(lost: Lost, front) -> None:  # noqa: F811
    call, reached = front
    path = f"/p/{lost.profile.slug}"
    call(path, HTTP_ACCEPT_LANGUAGE="es")  # Django answers the first Spanish visit
    translation.deactivate()
    pet_services.pet_update(actor=lost.cast.alice, pet=lost.pet, name='<b>Rex</b> & "Co"')
    services.profile_update(actor=lost.cast.alice, pet=lost.pet, public_message="a\n<i>b</i>")
    status, headers, body = call(path, HTTP_ACCEPT_LANGUAGE="es")
    translation.deactivate()
    assert status == 200 and len(reached) == 1 and headers["Content-Language"] == "es"
    assert 'lang="es"' in body and "¡Estoy perdido!" in body and "I am lost" not in body
    assert "<b>Rex" not in body and "&lt;b&gt;Rex&lt;/b&gt; &amp; &quot;Co&quot;" in body
    assert "a<br>&lt;i&gt;b&lt;/i&gt;" in body
    # The same key drawn by the view (signed in: Django) gives the same ETag
    key = fastpage.Visit(
        slug=lost.profile.slug, language="es", theme="auto", today=timezone.localdate(),
        scheme="http",
    ).key(selectors.page_stamp(lost.profile.slug) or (0, 0, 0))  # fmt: skip
    assert headers["ETag"] == cache.page_etag(key)
