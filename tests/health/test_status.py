"""Due badges: overdue / due soon / up to date / none, per record and per pet, with the words
always on the page (colour is never the only signal)."""

from __future__ import annotations

import re

import pytest

from pawfile.health import services, status
from pawfile.health.choices import DueStatus
from pawfile.health.models import HealthRecord
from pawfile.health.views import pet_due_summaries_for, pet_due_summary_for
from pawfile.pets.models import Pet
from tests.conftest import Cast
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
    assert pet_due_summary_for(pet) == DueStatus(css)


def test_a_booster_supersedes_the_older_shot_of_the_same_vaccine(cast: Cast, pet) -> None:
    old = _vaccine(cast, pet, "Rabies", -400, -35)
    booster = _vaccine(cast, pet, "rabies ", -30, 335)
    items = status.current_due_items(HealthRecord.objects.filter(pet=pet))
    assert [(i.record.pk, i.status) for i in items] == [(booster.pk, DueStatus.UP_TO_DATE)]
    assert pet_due_summary_for(pet) == DueStatus.UP_TO_DATE
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
    assert pet_due_summary_for(pet) == DueStatus.OVERDUE
    # Other kinds never count: a medication has no due status.
    other = Pet.objects.create(household=cast.household, name="Tom", species="cat")
    services.record_create(actor=cast.alice, pet=other, kind="medication", name="Pill")
    assert pet_due_summaries_for([pet, other]) == {
        pet.pk: DueStatus.OVERDUE,
        other.pk: DueStatus.NONE,
    }


def test_due_soon_window_follows_the_setting(cast: Cast, pet, settings) -> None:
    _vaccine(cast, pet, "Lepto", -300, 10)
    settings.PAWFILE_DUE_SOON_DAYS = 5
    assert pet_due_summary_for(pet) == DueStatus.UP_TO_DATE
