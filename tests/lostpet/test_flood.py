"""A flood of finder reports: limited per address and per pet, a bounded number of alerts
then one summary, and everything else (another pet, an honest finder) answers as usual."""

from __future__ import annotations

import collections
import datetime as dt

import pytest
import time_machine
from django.test import Client

from pawfile.lostpet import sightings
from pawfile.lostpet.models import Sighting
from pawfile.lostpet.services import profile_for_pet
from pawfile.notifications.models import Notification
from pawfile.pets.models import Pet
from tests.lostpet.conftest import Lost

# Mid-hour, so the hourly alert cap is not split by the clock during the test.
START = dt.datetime(2026, 3, 2, 10, 5, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _limits(settings) -> None:
    settings.PAWFILE_SIGHTING_RATELIMIT_IP = "5/600"
    settings.PAWFILE_SIGHTING_RATELIMIT_PET = "60/3600"
    settings.PAWFILE_SIGHTING_ALERTS_PER_HOUR = 10


@pytest.fixture
def luna(lost: Lost) -> str:
    """Another pet of the household, with a public page; its slug."""
    pet = Pet.objects.create(household=lost.cast.household, name="Luna", species="cat")
    return profile_for_pet(pet).slug


def post(address: str, slug: str, message: str):
    return Client(REMOTE_ADDR=address).post(f"/p/{slug}/found/", {"message": message})


def alerts(email: str, name: str = "Rex") -> list[Notification]:
    return list(
        Notification.objects.filter(recipient__email=email, kind="lost_pet", pet__name=name)
    )


def test_a_thousand_reports_from_one_address(lost: Lost, luna: str) -> None:
    slug = lost.profile.slug
    statuses: collections.Counter[int] = collections.Counter()
    with time_machine.travel(START, tick=True):
        client = Client(REMOTE_ADDR="203.0.113.5")
        for number in range(1000):
            response = client.post(f"/p/{slug}/found/", {"message": f"spam {number}"})
            statuses[response.status_code] += 1
        assert statuses == {303: 5, 429: 995}
        page = response.content.decode()
        assert "Too many reports just now" in page and "Please wait" in page
        assert int(response["Retry-After"]) > 0
        assert Sighting.objects.count() == 5
        assert len(alerts("alice@example.org")) == 5
        # Nothing else is held up: another pet's page and reports, and an honest finder
        # of the same pet from another address.
        neighbour = Client(REMOTE_ADDR="198.51.100.20")
        assert neighbour.get(f"/p/{luna}").status_code == 200
        assert neighbour.post(f"/p/{luna}/found/", {"message": "Cat on my roof"}).status_code == 303
        assert post("198.51.100.21", slug, "Rex is in my garden").status_code == 303
        assert Client().get(f"/p/{slug}").status_code == 200
    assert len(alerts("alice@example.org", "Luna")) == 1


def test_many_addresses_hit_the_pet_limit_and_the_alert_cap_then_one_summary(
    lost: Lost, luna: str
) -> None:
    slug = lost.profile.slug
    statuses: collections.Counter[int] = collections.Counter()
    with time_machine.travel(START, tick=True):
        for number in range(200):
            address = f"10.1.{number // 200}.{number % 200 + 1}"
            statuses[post(address, slug, f"report {number}").status_code] += 1
        assert statuses == {303: 60, 429: 140}
        assert Sighting.objects.filter(profile=lost.profile).count() == 60
        # Owner and caretaker: 10 alerts each, not 60.
        assert len(alerts("alice@example.org")) == 10
        assert len(alerts("bob@example.org")) == 10
        assert Sighting.objects.filter(alerted=False).count() == 50
        # The cap is per pet: Luna's finder still alerts at once.
        assert post("198.51.100.30", luna, "Cat in the park").status_code == 303
        assert len(alerts("alice@example.org", "Luna")) == 1
        # Before the hour ends, no summary.
        assert sightings.summaries_send() == 0
    assert sightings.summaries_send(now=START.replace(hour=11, minute=1)) == 1
    summaries = [
        n for n in alerts("alice@example.org") if n.event_key.startswith("sighting-summary")
    ]
    assert len(summaries) == 1
    assert summaries[0].title == "50 more reports about Rex"
    assert len(alerts("alice@example.org")) == 11
    # Run again (another worker, the next tick): nothing more.
    assert sightings.summaries_send(now=START.replace(hour=11, minute=6)) == 0
    assert len(alerts("alice@example.org")) == 11
