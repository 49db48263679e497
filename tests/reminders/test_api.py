"""``/api/v1`` reminders: every endpoint × {owner, caretaker, viewer, stranger, anonymous}
(a refused request changes nothing, an accepted write changes something), filters, the
automatic ones marked, and bad input answered with a 422 that names the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from pawfile.health import services as health
from pawfile.reminders import firing, services
from pawfile.reminders.models import Occurrence, Reminder
from tests.api.conftest import ApiClient, access_token

ROLES = ["alice", "bob", "carol", "charlie", None]
ROLE_IDS = ["owner", "caretaker", "viewer", "stranger", "anonymous"]
EVERYONE = [200, 200, 200, 200, 401]
READ = [200, 200, 200, 404, 401]
CREATE = [201, 201, 403, 404, 401]
CHANGE = [200, 200, 403, 404, 401]
DELETE = [204, 204, 403, 404, 401]

TOMORROW = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
Body = Callable[[Any], Any] | None

ENDPOINTS: dict[str, tuple[str, str, Body, list[int]]] = {
    "reminder_list": ("get", "/reminders", None, EVERYONE),
    "pet_reminder_list": ("get", "/pets/{pet_id}/reminders", None, READ),
    "reminder_create": (
        "post",
        "/reminders",
        lambda w: {
            "pet_id": w["pet_id"],
            "title": "Walk",
            "start_date": TOMORROW,
            "start_time": "07:30",
        },
        CREATE,
    ),
    "pet_reminder_create": (
        "post",
        "/pets/{pet_id}/reminders",
        lambda w: {
            "title": "Brush",
            "start_date": TOMORROW,
            "start_time": "19:00",
            "recurrence": {"frequency": "weekly", "weekdays": ["MO", "TH"]},
        },
        CREATE,
    ),
    "reminder_detail": ("get", "/reminders/{reminder_id}", None, READ),
    "reminder_update": ("patch", "/reminders/{reminder_id}", lambda w: {"title": "Pills"}, CHANGE),
    "reminder_delete": ("delete", "/reminders/{reminder_id}", None, DELETE),
    "occurrence_list": ("get", "/reminders/{reminder_id}/occurrences", None, READ),
    "reminder_done": ("post", "/reminders/{reminder_id}/done", None, CHANGE),
    "reminder_skip": ("post", "/reminders/{reminder_id}/skip", None, CHANGE),
    "reminder_snooze": (
        "post",
        "/reminders/{reminder_id}/snooze",
        lambda w: {"snooze_for": "1h"},
        CHANGE,
    ),
    "reminder_pause": ("post", "/reminders/{reminder_id}/pause", None, CHANGE),
    "reminder_resume": ("post", "/reminders/{reminder_id}/resume", None, CHANGE),
}


@pytest.fixture
def world(cast, pet) -> dict[str, int]:
    now = timezone.now()
    start = (now - dt.timedelta(minutes=30)).astimezone(dt.UTC).replace(second=0, microsecond=0)
    reminder = services.reminder_create(
        actor=cast.alice,
        pet=pet,
        title="Secret pill",
        start_date=start.date(),
        start_time=start.time(),
        timezone="UTC",
        rule="FREQ=DAILY",
        now=now - dt.timedelta(hours=1),
    )
    firing.reminders_fire_due(now=now)  # one occurrence sent: done and snooze have one to act on
    return {"pet_id": pet.pk, "reminder_id": reminder.pk, "household_id": cast.household.pk}


def fingerprint() -> list[Any]:
    return [
        list(Reminder.objects.order_by("pk").values()),
        list(Occurrence.objects.order_by("pk").values()),
    ]


def test_every_operation_is_in_the_table(client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    names = {
        op["operationId"].split("_api_", 1)[1]
        for path in spec["paths"].values()
        for op in path.values()
        if op["operationId"].startswith("pawfile_reminders_api_")
    }
    assert names == set(ENDPOINTS)


class SessionApi(ApiClient):
    """The API through a signed-in browser session (the test client skips the CSRF check)."""

    def __init__(self, client) -> None:
        self.client = client
        self.headers = {}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_access_table(world, cast, endpoint: str) -> None:
    """Each role in turn on the same world; each attempt is rolled back after its checks."""
    method, path, body, expected = ENDPOINTS[endpoint]
    clients = [SessionApi(cast.client_for(name)) for name in ROLES]
    for who, name in enumerate(ROLES):
        with transaction.atomic():
            before = fingerprint()
            response = clients[who].request(
                method, path.format(**world), body(world) if body else None
            )
            assert response.status_code == expected[who], (ROLE_IDS[who], response.content)
            after = fingerprint()
            if response.status_code >= 400:
                assert after == before, f"a refused request changed something ({ROLE_IDS[who]})"
            elif method == "get":
                assert after == before
                if endpoint.endswith("list") and name == "charlie":
                    assert response.json()["items"] == []  # the stranger sees none of it
                elif endpoint in ("reminder_list", "pet_reminder_list"):
                    assert "Secret pill" in response.content.decode()
            else:
                assert after != before, f"an accepted write changed nothing ({ROLE_IDS[who]})"
            transaction.set_rollback(True)


@pytest.fixture
def alice_api(cast) -> ApiClient:
    return ApiClient(access_token(cast.alice.email))


def test_lists_filter_and_mark_automatic_ones(world, cast, pet, alice_api) -> None:
    record = health.record_create(
        actor=cast.alice,
        pet=pet,
        kind="vaccination",
        name="Rabies",
        next_due=timezone.localdate() + dt.timedelta(days=100),
    )
    items = alice_api.get(f"/pets/{pet.pk}/reminders").json()["items"]
    automatic = [i for i in items if i["automatic"]]
    assert [(i["source"], i["record_id"]) for i in automatic] == [("vaccination", record.pk)]
    soon = (timezone.now() + dt.timedelta(days=3)).isoformat()
    near = alice_api.get("/reminders", QUERY_STRING=f"due_before={soon.replace('+', '%2B')}").json()
    assert [i["title"] for i in near["items"]] == ["Secret pill"]
    later = alice_api.get(f"/reminders?pet_id={pet.pk}&due_after={soon.replace('+', '%2B')}").json()
    assert [i["title"] for i in later["items"]] == ["Rabies due"]
    refused = alice_api.delete(f"/reminders/{record.reminder.pk}")
    assert refused.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "", "start_date": TOMORROW, "start_time": "09:00"}, "title"),
        ({"title": "A\nB", "start_date": TOMORROW, "start_time": "09:00"}, "title"),
        ({"title": "A", "start_date": TOMORROW, "start_time": "25:00"}, "start_time"),
        (
            {
                "title": "A",
                "start_date": TOMORROW,
                "start_time": "09:00",
                "timezone": "Mars/Olympus",
            },
            "timezone",
        ),
        (
            {"title": "A", "start_date": TOMORROW, "start_time": "09:00", "rule": "FREQ=DAILY"},
            "rule",
        ),
        (
            {"title": "A", "start_date": TOMORROW, "start_time": "09:00", "channels": ["Bad Name"]},
            "channels",
        ),
        ({"title": "A", "start_date": 1764633600, "start_time": "09:00"}, "start_date"),
        (
            {
                "title": "A",
                "start_date": TOMORROW,
                "start_time": "09:00",
                "recurrence": {"frequency": "daily", "until": TOMORROW, "count": 3},
            },
            "recurrence",
        ),
        (
            {"title": "A", "start_date": TOMORROW, "start_time": "09:00", "lead_minutes": -5},
            "lead_minutes",
        ),
        ({"title": "A", "start_date": TOMORROW, "start_time": "09:00", "id": 5}, "id"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(world, cast, alice_api, body, field) -> None:
    response = alice_api.post(f"/pets/{world['pet_id']}/reminders", body)
    assert response.status_code == 422, response.content
    fields = response.json()["error"]["fields"]
    assert any(field in name for name in fields), fields


def test_what_the_clock_refuses_is_a_409(world, alice_api) -> None:
    """A one-off whose time has passed would never be sent; a snooze must end within 30
    days from now: neither depends on the input alone."""
    body = {"title": "A", "start_date": "2001-01-01", "start_time": "09:00"}
    response = alice_api.post(f"/pets/{world['pet_id']}/reminders", body)
    assert response.status_code == 409
    assert "start_date" in response.json()["error"]["fields"]
    later = (timezone.now() + dt.timedelta(days=40)).replace(microsecond=0).isoformat()
    response = alice_api.post(
        f"/reminders/{world['reminder_id']}/snooze", {"snooze_for": "until", "until": later}
    )
    assert response.status_code == 409


def test_assignee_must_be_a_member(world, cast, alice_api) -> None:
    body = {
        "title": "A",
        "start_date": TOMORROW,
        "start_time": "09:00",
        "assignee_id": cast.charlie.pk,
    }
    response = alice_api.post(f"/pets/{world['pet_id']}/reminders", body)
    assert response.status_code == 404  # no member of this household by that id
    assert "assignee_id" in response.json()["error"]["fields"]
    body["assignee_id"] = cast.bob.pk
    assert (
        alice_api.post(f"/pets/{world['pet_id']}/reminders", body).json()["assignee_id"]
        == cast.bob.pk
    )


def test_household_reminder_and_snooze_until(world, cast, alice_api) -> None:
    created = alice_api.post(
        "/reminders",
        {
            "household_id": world["household_id"],
            "title": "Buy food",
            "start_date": TOMORROW,
            "start_time": "10:00",
            "recurrence": {"frequency": "monthly", "monthly_by": "last_weekday"},
        },
    )
    assert created.status_code == 201, created.content
    assert created.json()["pet_id"] is None
    assert created.json()["rule"].startswith("FREQ=MONTHLY;INTERVAL=1;BYDAY=-1")
    bad = alice_api.post(f"/reminders/{world['reminder_id']}/snooze", {"snooze_for": "until"})
    assert bad.status_code == 422 and "until" in bad.json()["error"]["fields"]
    until = (timezone.now() + dt.timedelta(hours=3)).replace(microsecond=0)
    ok = alice_api.post(
        f"/reminders/{world['reminder_id']}/snooze",
        {"snooze_for": "until", "until": until.isoformat()},
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "snoozed"
