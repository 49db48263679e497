"""Due status on each person's own calendar date, the same on the pages, in the API and in
the PDF report.

At 10:30 UTC on 10 March 2027 it is already 11 March in Kiritimati (UTC+14, alice) and still
9 March in Pago Pago (UTC−11, carol); bob keeps UTC. Rex's rabies shot is due on 10 March and
his leptospirosis shot on 9 April, with the 30-day "due soon" window:

| who   | today  | Rabies (10 Mar) | Leptospirosis (9 Apr) | pet   |
|-------|--------|-----------------|-----------------------|-------|
| alice | 11 Mar | overdue         | due soon              | overdue |
| bob   | 10 Mar | due soon        | due soon              | due soon |
| carol |  9 Mar | due soon        | up to date            | due soon |
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from pawfile.accounts.choices import Role
from pawfile.accounts.models import Membership
from pawfile.health import services
from pawfile.health.models import HealthRecord
from pawfile.lib.errors import Invalid
from pawfile.pets import services as pet_services
from pawfile.pets.models import Pet
from tests.api.conftest import ApiClient, access_token
from tests.conftest import Cast
from tests.documents.conftest import pdf_text

INSTANT = dt.datetime(2027, 3, 10, 10, 30, tzinfo=dt.UTC)
ZONES = {"alice": "Pacific/Kiritimati", "carol": "Pacific/Pago_Pago", "bob": "UTC"}
EXPECTED = {
    "alice": {"Rabies": "overdue", "Leptospirosis": "due_soon"},
    "bob": {"Rabies": "due_soon", "Leptospirosis": "due_soon"},
    "carol": {"Rabies": "due_soon", "Leptospirosis": "up_to_date"},
}
SUMMARY = {"alice": "overdue", "bob": "due_soon", "carol": "due_soon"}
TODAY = {"alice": dt.date(2027, 3, 11), "bob": dt.date(2027, 3, 10), "carol": dt.date(2027, 3, 9)}
PEOPLE = list(EXPECTED)


@pytest.fixture
def rex(cast: Cast, pet: Pet, settings) -> Pet:
    settings.PAWFILE_DUE_SOON_DAYS = 30
    with time_machine.travel(INSTANT, tick=False):
        for name, zone in ZONES.items():
            user = getattr(cast, name)
            user.timezone = zone
            user.save(update_fields=["timezone"])
        for name, given, due in (
            ("Rabies", dt.date(2026, 3, 10), dt.date(2027, 3, 10)),
            ("Leptospirosis", dt.date(2026, 4, 9), dt.date(2027, 4, 9)),
        ):
            services.record_create(
                actor=cast.bob, pet=pet, kind="vaccination", name=name, date=given, next_due=due
            )
        yield pet


@pytest.fixture
def frozen():
    with time_machine.travel(INSTANT, tick=False):
        yield


def _named_badges(html: str) -> dict[str, str]:
    """``{record name: due badge class}`` of the records a page lists with a badge."""
    found = re.findall(
        r">\s*(Rabies|Leptospirosis)\s*</a>(?:(?!</li>).)*?due-badge due-(\w+)", html, re.S
    )
    return dict(found)


@pytest.mark.parametrize("who", PEOPLE)
def test_pages_give_each_person_their_own_date(cast: Cast, rex: Pet, frozen, who: str) -> None:
    client = cast.client_for(who)
    detail = client.get(f"/pets/{rex.pk}/").content.decode()
    assert _named_badges(detail) == EXPECTED[who]
    header = detail.split('id="health-heading"')[1].split("</header>")[0]
    assert f"due-{SUMMARY[who]}" in header
    timeline = client.get(f"/pets/{rex.pk}/timeline/").content.decode()
    assert _named_badges(timeline) == EXPECTED[who]
    for record in HealthRecord.objects.filter(pet=rex):
        page = client.get(f"/records/{record.pk}/").content.decode()
        assert f"due-badge due-{EXPECTED[who][record.name]}" in page
    listing = client.get("/pets/").content.decode()
    assert f"pet-status-{SUMMARY[who]}" in listing


@pytest.mark.parametrize("who", PEOPLE)
def test_the_api_gives_each_caller_their_own_date(cast: Cast, rex: Pet, frozen, who: str) -> None:
    bearer = ApiClient(access_token(getattr(cast, who).email))
    session = cast.client_for(who)
    for get in (bearer.get, lambda path: session.get(f"/api/v1{path}")):
        items = get(f"/pets/{rex.pk}/records").json()["items"]
        assert {r["name"]: r["due_status"] for r in items} == EXPECTED[who]
        for item in items:
            one = get(f"/records/{item['id']}").json()
            assert one["due_status"] == EXPECTED[who][item["name"]]


# The PDF words each status and writes dates in the one English format ("9 Mar 2027").
WORDS = {"overdue": "Overdue", "due_soon": "Due soon", "up_to_date": "Up to date"}
GENERATED = {"alice": "11 Mar 2027", "bob": "10 Mar 2027", "carol": "9 Mar 2027"}


@pytest.mark.parametrize("who", PEOPLE)
def test_the_report_gives_each_reader_their_own_date(
    cast: Cast, rex: Pet, frozen, who: str
) -> None:
    response = cast.client_for(who).get(f"/pets/{rex.pk}/report.pdf", HTTP_ACCEPT_LANGUAGE="en")
    text = pdf_text(response.content)
    statuses = EXPECTED[who]
    assert f"Rabies 10 Mar 2026 10 Mar 2027 {WORDS[statuses['Rabies']]}" in text
    lepto = f"Leptospirosis 9 Apr 2026 9 Apr 2027 {WORDS[statuses['Leptospirosis']]}"
    assert lepto in text
    assert f"Generated on {GENERATED[who]}" in text


def test_today_on_a_new_record_is_the_authors(cast: Cast, rex: Pet, frozen) -> None:
    """A form's default date, a record without a date and the "not in the future" checks
    follow the author's calendar, on the web and in the API."""
    Membership.objects.filter(user=cast.carol).update(role=Role.CARETAKER)  # she may write
    for who in PEOPLE:
        form = cast.client_for(who).get(f"/pets/{rex.pk}/records/new/visit/").content.decode()
        today = TODAY[who].isoformat()
        assert re.search(rf'name="date" value="{today}"', form), who
        assert f'max="{(TODAY[who] + dt.timedelta(days=1)).isoformat()}"' in form, who
        api = ApiClient(access_token(getattr(cast, who).email))
        made = api.post(f"/pets/{rex.pk}/records", {"kind": "visit", "name": f"Check by {who}"})
        assert made.json()["date"] == today, who
    # 10 March is past in Kiritimati, today in UTC and still tomorrow in Pago Pago.
    for who, status in (("alice", 200), ("bob", 200), ("carol", 422)):
        api = ApiClient(access_token(getattr(cast, who).email))
        answer = api.patch(f"/pets/{rex.pk}", {"birth_date": "2027-03-10"})
        assert answer.status_code == status, (who, answer.content)


def test_services_use_the_actors_date_with_no_zone_active(cast: Cast, rex: Pet, frozen) -> None:
    """A task or the command line has no request to activate a zone: the services still
    take "today" from the person acting."""
    for who in ("alice", "bob"):
        record = services.record_create(actor=getattr(cast, who), pet=rex, kind="lab", name="X")
        assert record.date == TODAY[who]
    with pytest.raises(Invalid):
        pet_services.pet_update(actor=cast.bob, pet=rex, birth_date=dt.date(2027, 3, 11))
    pet_services.pet_update(actor=cast.alice, pet=rex, birth_date=dt.date(2027, 3, 11))
