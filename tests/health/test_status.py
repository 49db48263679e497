"""Due badges: overdue / due soon / up to date / none, per record and per pet, with the words
always on the page (colour is never the only signal)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pawfile.health import selectors, services, status
from pawfile.health.choices import DueStatus
from pawfile.health.models import HealthRecord
from pawfile.health.views import pet_due_summaries_for, pet_due_summary_for
from pawfile.lib import sqlrows
from pawfile.pets.models import Pet
from tests.api.conftest import ApiClient, access_token
from tests.conftest import Cast
from tests.documents.conftest import pdf_text
from tests.health.samples import days


def _vaccine(cast: Cast, pet, name: str, date: int, next_due: int | None) -> HealthRecord:
    return services.record_create(
        actor=cast.alice,
        pet=pet,
        kind="vaccination",
        name=name,
        date=days(date),
        next_due=days(next_due) if next_due is not None else None,
    )


def _badges(html: str) -> list[tuple[str, str]]:
    """``(status class, visible text)`` of every due badge in the page."""
    found = re.findall(
        r'<span class="due-badge due-(\w+)"><span class="due-icon" aria-hidden="true">.*?</span>'
        r"\s*([^<]+)</span>",
        html,
    )
    return [(cls, text.strip()) for cls, text in found]


@pytest.mark.parametrize(
    ("next_due", "css", "words"),
    [
        (-1, "overdue", "Overdue"),
        (10, "due_soon", "Due soon"),
        (90, "up_to_date", "Up to date"),
        (None, "none", "No due date"),
    ],
)
def test_vaccination_badge(cast: Cast, pet, next_due: int | None, css: str, words: str) -> None:
    record = _vaccine(cast, pet, "Rabies", -300, next_due)
    client = cast.client_for("carol")
    assert (css, words) in _badges(client.get(f"/records/{record.pk}/").content.decode())
    assert (css, words) in _badges(client.get(f"/pets/{pet.pk}/timeline/").content.decode())
    assert pet_due_summary_for(pet, today=days(0)) == DueStatus(css)


def test_a_booster_supersedes_the_older_shot_of_the_same_vaccine(cast: Cast, pet) -> None:
    old = _vaccine(cast, pet, "Rabies", -400, -35)
    booster = _vaccine(cast, pet, "rabies ", -30, 335)
    items = status.due_items(HealthRecord.objects.filter(pet=pet), today=days(0))
    assert [(i.record.pk, i.status) for i in items] == [
        (booster.pk, DueStatus.UP_TO_DATE),
        (old.pk, DueStatus.REPLACED),
    ]
    assert pet_due_summary_for(pet, today=days(0)) == DueStatus.UP_TO_DATE
    client = cast.client_for("alice")
    timeline = client.get(f"/pets/{pet.pk}/timeline/").content.decode()
    assert _badges(timeline) == [("up_to_date", "Up to date")]
    assert "replaced by a later record" in timeline
    assert "Replaced by a later record" in client.get(f"/records/{old.pk}/").content.decode()


def test_the_pet_summary_is_the_worst_current_item(cast: Cast, pet) -> None:
    _vaccine(cast, pet, "Rabies", -100, 200)
    services.record_create(
        actor=cast.alice, pet=pet, kind="deworming", name="Milbemax", date=days(-90),
        next_due=days(-2),
    )  # fmt: skip
    assert pet_due_summary_for(pet, today=days(0)) == DueStatus.OVERDUE
    # Other kinds never count: a medication has no due status.
    other = Pet.objects.create(household=cast.household, name="Tom", species="cat")
    services.record_create(actor=cast.alice, pet=other, kind="medication", name="Pill")
    assert pet_due_summaries_for([pet, other], today=days(0)) == {
        pet.pk: DueStatus.OVERDUE,
        other.pk: DueStatus.NONE,
    }


def test_due_soon_window_follows_the_setting(cast: Cast, pet, settings) -> None:
    _vaccine(cast, pet, "Lepto", -300, 10)
    settings.PAWFILE_DUE_SOON_DAYS = 5
    assert pet_due_summary_for(pet, today=days(0)) == DueStatus.UP_TO_DATE


def test_the_api_gives_the_pages_answer_for_a_replaced_shot(cast: Cast, pet) -> None:
    """An old rabies shot replaced by a booster says ``replaced`` in every API answer, not
    ``overdue`` from its own next due date, even on a page of the list without the booster
    or when the old shot is entered after the booster."""
    api = ApiClient(access_token(cast.bob.email))
    old = _vaccine(cast, pet, "Rabies", -400, -35)
    assert api.get(f"/records/{old.pk}").json()["due_status"] == "overdue"  # still current
    booster = api.post(
        f"/pets/{pet.pk}/records",
        {"kind": "vaccination", "name": "rabies ", "date": days(-30).isoformat(),
         "next_due": days(335).isoformat()},
    )  # fmt: skip
    assert booster.status_code == 201 and booster.json()["due_status"] == "up_to_date"
    assert api.get(f"/records/{old.pk}").json()["due_status"] == "replaced"
    edited = api.patch(f"/records/{old.pk}", {"notes": "First shot"})
    assert edited.json()["due_status"] == "replaced"
    older = api.post(
        f"/pets/{pet.pk}/records",
        {"kind": "vaccination", "name": "Rabies", "date": days(-800).isoformat(),
         "next_due": days(-400).isoformat()},
    )  # fmt: skip
    assert older.json()["due_status"] == "replaced"
    # Entered twice on the same day: the later entry counts.
    first, again = (_vaccine(cast, pet, "Distemper", -10, 300) for _ in range(2))
    assert api.get(f"/records/{first.pk}").json()["due_status"] == "replaced"
    assert api.get(f"/records/{again.pk}").json()["due_status"] == "up_to_date"
    services.record_create(actor=cast.alice, pet=pet, kind="medication", name="Pill")
    seen: dict[str, str] = {}
    path: str | None = f"/pets/{pet.pk}/records?limit=1"
    while path:  # one record a page: each page answers without the others
        page = api.get(path).json()
        seen.update({str(r["id"]): r["due_status"] for r in page["items"]})
        path = f"/pets/{pet.pk}/records?limit=1&cursor={page['next']}" if page["next"] else None
    assert sorted(seen.values()) == [
        "none", "replaced", "replaced", "replaced", "up_to_date", "up_to_date",
    ]  # fmt: skip
    assert seen[str(old.pk)] == seen[str(first.pk)] == "replaced"
    timeline = cast.client_for("bob").get(f"/pets/{pet.pk}/timeline/").content.decode()
    assert _badges(timeline) == [("up_to_date", "Up to date")] * 2
    assert timeline.count("replaced by a later record") == 3
    report = pdf_text(cast.client_for("bob").get(f"/pets/{pet.pk}/report.pdf").content)
    assert report.lower().count("rabies") == 1  # the booster's row only
    assert report.count("Distemper") == 1
    assert "Up to date" in report and "Overdue" not in report


def test_the_schema_documents_replaced(cast: Cast) -> None:
    schema = cast.client_for("alice").get("/api/v1/openapi.json").json()
    field = schema["components"]["schemas"]["RecordOut"]["properties"]["due_status"]
    if "$ref" in field:
        name = field["$ref"].rsplit("/", 1)[1]
        field = {**schema["components"]["schemas"][name], **field}
    elif "allOf" in field:
        name = field["allOf"][0]["$ref"].rsplit("/", 1)[1]
        field = {**schema["components"]["schemas"][name], **field}
    assert set(field["enum"]) == {s.value for s in DueStatus}
    assert "replaced" in field["description"]


@pytest.mark.parametrize("hand_written", [True, False])
def test_the_api_selector_agrees_with_the_whole_pet_rule(
    cast: Cast, pet, monkeypatch, hand_written: bool
) -> None:
    """``record_due_statuses`` (a few records: the API) reads only what could replace them;
    asked about any record or all of them, with the hand-written SQL or the ORM (the
    benchmark switch), it answers as ``due_items_by_pet`` does over the whole pet."""
    monkeypatch.setattr(sqlrows, "HAND_WRITTEN", hand_written)
    other = Pet.objects.create(household=cast.household, name="Tom", species="cat")
    for animal in (pet, other):
        for name, date, next_due in (
            ("Rabies", -400, -35), ("rabies ", -30, 335), ("Lepto", -30, 5), ("LEPTO", -30, 20),
            ("Distemper", -10, -1), ("Distemper", -10, None), ("Parvo", -300, -3),
        ):  # fmt: skip
            _vaccine(cast, animal, name, date, next_due)
        for date, next_due in ((-200, -100), (-20, 70)):
            services.record_create(
                actor=cast.alice, pet=animal, kind="deworming", name="Milbemax",
                date=days(date), next_due=days(next_due),
            )  # fmt: skip
        services.record_create(actor=cast.alice, pet=animal, kind="medication", name="Pill")
    whole = {
        item.record.pk: item.status
        for items in selectors.due_items_by_pet(pet_ids=[pet.pk, other.pk], today=days(0)).values()
        for item in items
    }
    assert set(whole.values()) == set(DueStatus)
    records = list(HealthRecord.objects.filter(pet__in=[pet, other]))
    with CaptureQueriesContext(connection) as queries:
        together = selectors.record_due_statuses(records=records, today=days(0))
    assert together == whole and len(queries) == 1
    for record in records:
        alone = selectors.record_due_statuses(records=[record], today=days(0))
        assert alone == ({record.pk: whole[record.pk]} if record.pk in whole else {})
    sql = [q["sql"] for q in queries.captured_queries]
    assert any(' "health_healthrecord" r ' in statement for statement in sql) is hand_written
