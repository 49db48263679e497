"""Lost mode: marking lost and found (web and API), the time in the owner's zone, and the
scan alert: while a pet is lost, every scan of its tags (through the QR app's real buffer and
flush) alerts its owner and caretaker at once, bounded per hour; bots and pets that are not
lost alert nobody."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

from pawfile.lostpet import services
from pawfile.lostpet.choices import SightingSource
from pawfile.lostpet.models import PublicProfile, Sighting
from pawfile.notifications.models import Notification
from pawfile.qr import scans
from pawfile.qr import services as qr_services
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
BOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"


@pytest.fixture(autouse=True)
def _empty_buffer():
    scans.buffer.clear()
    yield
    scans.buffer.clear()


def scan(code_id: str, *, agent: str = PHONE, at: float | None = None) -> None:
    meta = {"HTTP_USER_AGENT": agent, "REMOTE_ADDR": "198.51.100.4"}
    scans.scan_record(meta, code_id, at if at is not None else time.time(), True)


def flush(capture) -> int:
    with capture(execute=True):
        return scans.scan_buffer_flush()


def alerts(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind="lost_pet").order_by("pk"))


# --- Marking lost and found ---------------------------------------------------------------------


def test_mark_lost_in_the_owners_zone_then_found(cast: Cast, pet) -> None:
    cast.alice.timezone = "America/New_York"
    cast.alice.save()
    client = cast.client_for("alice")
    response = client.post(
        f"/pets/{pet.pk}/lost/",
        {"last_seen_at": "2026-06-01T10:30", "last_seen_place": "Central Park",
         "reward": "100 USD", "lost_message": "Shy, do not chase"},
    )  # fmt: skip
    assert response.status_code == 302
    profile = PublicProfile.objects.get(pet=pet)
    assert profile.is_lost and profile.lost_since is not None
    assert profile.last_seen_at == dt.datetime(2026, 6, 1, 14, 30, tzinfo=dt.UTC)  # EDT = UTC-4
    assert profile.last_seen_place == "Central Park"
    page = client.get(f"/pets/{pet.pk}/lost/").content.decode()
    assert 'value="2026-06-01T10:30"' in page  # shown back in her zone
    body = Client().get(f"/p/{profile.slug}").content.decode()
    assert "Central Park" in body and "100 USD" in body

    revision = profile.revision
    assert client.post(f"/pets/{pet.pk}/found/").status_code == 302
    profile.refresh_from_db()
    assert not profile.is_lost and profile.found_at is not None
    assert profile.last_seen_place == "" and profile.reward == ""
    assert profile.revision == revision + 1
    assert "Central Park" not in Client().get(f"/p/{profile.slug}").content.decode()


def test_lost_form_refuses_a_future_time_with_a_message(cast: Cast, pet) -> None:
    future = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = cast.client_for("alice").post(f"/pets/{pet.pk}/lost/", {"last_seen_at": future})
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()
    assert not PublicProfile.objects.filter(pet=pet, is_lost=True).exists()


def test_lost_form_refuses_line_breaks_and_long_text(cast: Cast, pet) -> None:
    client = cast.client_for("alice")
    response = client.post(f"/pets/{pet.pk}/lost/", {"last_seen_place": "Park\r\nBcc: x"})
    assert response.status_code == 400
    assert "one line" in response.content.decode()
    response = client.post(f"/pets/{pet.pk}/lost/", {"reward": "9" * 500})
    assert response.status_code == 400


def test_viewer_sees_lost_mode_read_only(cast: Cast, pet) -> None:
    services.lost_mark(actor=cast.alice, pet=pet, reward="20 EUR")
    body = cast.client_for("carol").get(f"/pets/{pet.pk}/lost/").content.decode()
    assert "20 EUR" in body
    assert "disabled" in body
    assert "mark found" not in body.lower()


def test_api_lost_and_found(cast: Cast, pet) -> None:
    client = cast.client_for("bob")
    response = client.post(
        f"/api/v1/pets/{pet.pk}/lost",
        {"last_seen_at": "2026-01-05T08:00:00+01:00", "last_seen_place": "Retiro", "reward": "50"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["is_lost"] is True and data["last_seen_place"] == "Retiro"
    assert data["last_seen_at"].startswith("2026-01-05T07:00:00")
    assert data["url"].endswith(f"/p/{data['slug']}")
    # A naive time is refused, with the field named
    bad = client.post(f"/api/v1/pets/{pet.pk}/lost", {"last_seen_at": "2026-01-05T08:00:00"},
                      content_type="application/json")  # fmt: skip
    assert bad.status_code == 422
    assert "last_seen_at" in bad.json()["error"]["fields"]
    found = client.post(f"/api/v1/pets/{pet.pk}/found")
    assert found.status_code == 200 and found.json()["is_lost"] is False
    assert found.json()["found_at"] is not None
    again = client.post(f"/api/v1/pets/{pet.pk}/found")  # idempotent
    assert again.status_code == 200


def test_api_public_settings(cast: Cast, pet) -> None:
    client = cast.client_for("alice")
    got = client.get(f"/api/v1/pets/{pet.pk}/public").json()
    assert got["contact_mode"] == "form" and got["show_photo"] is True
    # Reading makes no page: the defaults, without an address yet.
    assert got["slug"] is None and got["url"] is None and got["updated_at"] is None
    assert client.get(f"/api/v1/pets/{pet.pk}/tags").status_code == 200
    assert not PublicProfile.objects.filter(pet=pet).exists()
    changed = client.patch(
        f"/api/v1/pets/{pet.pk}/public",
        {"show_medication": True, "contact_mode": "shown", "public_message": "Hi"},
        content_type="application/json",
    )
    assert changed.status_code == 200
    assert changed.json()["show_medication"] is True and changed.json()["public_message"] == "Hi"
    slug = PublicProfile.objects.get(pet=pet).slug  # made by the change
    assert changed.json()["url"].endswith(f"/p/{slug}")
    assert client.get(f"/api/v1/pets/{pet.pk}/public").json()["slug"] == slug
    for bad in ({"contact_mode": "loud"}, {"slug": "mine"}, {"show_age": "yes"},
                {"public_message": "x" * 300}):  # fmt: skip
        response = client.patch(
            f"/api/v1/pets/{pet.pk}/public", bad, content_type="application/json"
        )
        assert response.status_code == 422, bad
        assert response.json()["error"]["message"]


# --- The scan alert -----------------------------------------------------------------------------


def test_scan_of_a_lost_pets_tag_alerts_owner_and_caretaker(
    cast: Cast, pet, django_capture_on_commit_callbacks
) -> None:
    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    services.lost_mark(actor=cast.alice, pet=pet)
    at = time.time()
    scan(tag.id, at=at)
    assert flush(django_capture_on_commit_callbacks) == 1
    for person in (cast.alice, cast.bob):
        found = alerts(person)
        assert len(found) == 1
        local = timezone.localtime(dt.datetime.fromtimestamp(at, tz=dt.UTC)).strftime("%H:%M")
        assert found[0].title == f"Rex's tag was scanned at {local}"
        assert tag.id in found[0].body
    assert alerts(cast.carol) == [] and alerts(cast.charlie) == []
    sighting = Sighting.objects.get()
    assert sighting.source == SightingSource.SCAN and sighting.code_id == tag.id
    assert sighting.alerted
    assert abs(sighting.created_at.timestamp() - at) < 1
    assert any("Rex" in m.subject for m in mail.outbox) or Notification.objects.count() == 2


def test_alert_in_the_recipients_language_and_zone(
    cast: Cast, pet, django_capture_on_commit_callbacks
) -> None:
    cast.bob.locale = "es"
    cast.bob.timezone = "Asia/Tokyo"
    cast.bob.save()
    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    services.lost_mark(actor=cast.alice, pet=pet)
    at = dt.datetime(2026, 3, 1, 12, 5, tzinfo=dt.UTC)
    scan(tag.id, at=at.timestamp())
    flush(django_capture_on_commit_callbacks)
    (alert,) = alerts(cast.bob)
    assert "21:05" in alert.title  # Tokyo, UTC+9
    assert "Rex" in alert.title and "scanned at" not in alert.title  # Spanish


def test_no_alert_when_not_lost_or_a_bot(
    cast: Cast, pet, django_capture_on_commit_callbacks
) -> None:
    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    scan(tag.id)
    assert flush(django_capture_on_commit_callbacks) == 1  # the scan is counted...
    assert Notification.objects.count() == 0  # ...and alerts nobody
    services.lost_mark(actor=cast.alice, pet=pet)
    scan(tag.id, agent=BOT)
    flush(django_capture_on_commit_callbacks)
    assert Notification.objects.count() == 0 and Sighting.objects.count() == 0
    services.found_mark(actor=cast.alice, pet=pet)
    scan(tag.id)
    flush(django_capture_on_commit_callbacks)
    assert Notification.objects.count() == 0


def test_a_mixed_batch_alerts_only_the_lost_pets_scans_by_people(
    cast: Cast, pet, django_capture_on_commit_callbacks
) -> None:
    """The receiver picks its codes first: in one batch, scans of a pet that is not lost and
    a bot's scan of the lost pet's tag are counted and alert nobody; the person's scan of the
    lost pet's tag is stored once, at its own instant."""
    from pawfile.pets.models import Pet

    other = Pet.objects.create(household=cast.household, name="Luna", species="cat")
    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    other_tag = qr_services.pet_code_create(actor=cast.alice, pet=other)
    services.lost_mark(actor=cast.alice, pet=pet)
    at = dt.datetime(2026, 5, 4, 10, 15, 30, 250000, tzinfo=dt.UTC)
    scan(other_tag.id)
    scan(tag.id, agent=BOT)
    scan(tag.id, at=at.timestamp())
    scan(other_tag.id)
    assert flush(django_capture_on_commit_callbacks) == 4
    (sighting,) = Sighting.objects.all()
    assert (sighting.profile.pet_id, sighting.code_id) == (pet.pk, tag.id)
    assert sighting.created_at == at and sighting.source == SightingSource.SCAN
    assert len(alerts(cast.alice)) == 1


def test_a_batch_of_bots_asks_nothing(cast: Cast, pet, django_assert_num_queries) -> None:
    from pawfile.lostpet import scan_alerts

    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    services.lost_mark(actor=cast.alice, pet=pet)
    with django_assert_num_queries(0):
        assert scan_alerts.scans_alert([(tag.id, time.time(), True)] * 3) == 0
    with django_assert_num_queries(1):  # a person's scan of another code: the lost tags only
        assert scan_alerts.scans_alert([("zzzzzzzzzz", time.time(), False)]) == 0


def test_generic_code_scans_alert_nobody(
    cast: Cast, pet, django_capture_on_commit_callbacks
) -> None:
    services.lost_mark(actor=cast.alice, pet=pet)
    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    qr_services.pet_code_unlink(actor=cast.alice, code_id=tag.id)
    scan(tag.id)
    flush(django_capture_on_commit_callbacks)
    assert Notification.objects.count() == 0


@override_settings(PAWFILE_LOST_SCAN_ALERTS_PER_HOUR=3)
def test_alerts_are_bounded_per_pet_and_hour(
    cast: Cast, pet, django_capture_on_commit_callbacks
) -> None:
    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    services.lost_mark(actor=cast.alice, pet=pet)
    hour = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
    for n in range(40):
        scan(tag.id, at=(hour + dt.timedelta(seconds=30 * n)).timestamp())
    assert flush(django_capture_on_commit_callbacks) == 40
    assert len(alerts(cast.alice)) == 3
    assert Sighting.objects.filter(alerted=True).count() == 3
    assert Sighting.objects.filter(alerted=False, summarised=False).count() == 37
    # The next hour alerts again.
    scan(tag.id, at=(hour + dt.timedelta(hours=1, minutes=1)).timestamp())
    flush(django_capture_on_commit_callbacks)
    assert len(alerts(cast.alice)) == 4
    # The hour's summary (the finder reports' task) takes the rest in one notification.
    from pawfile.lostpet import sightings

    with django_capture_on_commit_callbacks(execute=True):
        sightings.summaries_send(now=hour + dt.timedelta(hours=2))
    assert len(alerts(cast.alice)) == 5
    assert Sighting.objects.filter(alerted=False, summarised=False).count() == 0


def test_a_failing_alert_never_loses_scans(
    cast: Cast, pet, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from pawfile.lostpet import scan_alerts

    def broken(*args, **kwargs):
        raise RuntimeError("notifications down")

    monkeypatch.setattr(scan_alerts, "_alert", broken)
    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    services.lost_mark(actor=cast.alice, pet=pet)
    scan(tag.id)
    scan(tag.id)
    assert flush(django_capture_on_commit_callbacks) == 2
    tag.refresh_from_db()
    assert tag.scan_count == 2
