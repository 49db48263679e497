"""Reminder pages: who may open and post what (endpoint × role, data unchanged when
refused), the form makes a weekly reminder, the buttons act, the pet page shows the card."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from pawfile.reminders import firing, services
from pawfile.reminders.models import Occurrence, Reminder

ROLES = ["alice", "bob", "carol", "charlie", None]
ROLE_IDS = ["owner", "caretaker", "viewer", "stranger", "anonymous"]
TOMORROW = timezone.localdate() + dt.timedelta(days=1)


@pytest.fixture
def reminder(cast, pet) -> Reminder:
    now = timezone.now()
    start = (now - dt.timedelta(minutes=30)).astimezone(dt.UTC).replace(second=0, microsecond=0)
    made = services.reminder_create(
        actor=cast.alice,
        pet=pet,
        title="Secret pill",
        start_date=start.date(),
        start_time=start.time(),
        timezone="UTC",
        rule="FREQ=DAILY",
        now=now - dt.timedelta(hours=1),
    )
    firing.reminders_fire_due(now=now)
    return made


FORM = {
    "title": "Brush teeth",
    "start_date": TOMORROW.isoformat(),
    "start_time": "20:00",
    "frequency": "weekly",
    "interval": "1",
    "weekdays": ["MO", "TH"],
    "monthly_by": "day",
    "ends": "count",
    "count": "10",
    "lead_minutes": "0",
    "timezone": "Europe/Madrid",
}

# path, method, data, expected per role (owner, caretaker, viewer, stranger, anonymous)
PAGES = {
    "all": ("/reminders/", "get", None, [200, 200, 200, 200, 302]),
    "pet_list": ("/pets/{pet}/reminders/", "get", None, [200, 200, 200, 404, 302]),
    "new_form": ("/pets/{pet}/reminders/new/", "get", None, [200, 200, 403, 404, 302]),
    "create": ("/pets/{pet}/reminders/new/", "post", FORM, [302, 302, 403, 404, 302]),
    "detail": ("/reminders/{r}/", "get", None, [200, 200, 200, 404, 302]),
    "edit_form": ("/reminders/{r}/edit/", "get", None, [200, 200, 403, 404, 302]),
    "edit": (
        "/reminders/{r}/edit/",
        "post",
        {**FORM, "title": "Edited"},
        [302, 302, 403, 404, 302],
    ),
    "delete": ("/reminders/{r}/delete/", "post", None, [302, 302, 403, 404, 302]),
    "done": ("/reminders/{r}/done/", "post", None, [302, 302, 403, 404, 302]),
    "skip": ("/reminders/{r}/skip/", "post", None, [302, 302, 403, 404, 302]),
    "snooze": (
        "/reminders/{r}/snooze/",
        "post",
        {"snooze_for": "tomorrow"},
        [302, 302, 403, 404, 302],
    ),
    "pause": ("/reminders/{r}/pause/", "post", None, [302, 302, 403, 404, 302]),
}


def _state():
    return [
        list(Reminder.objects.order_by("pk").values()),
        list(Occurrence.objects.order_by("pk").values()),
    ]


@pytest.mark.parametrize("page", list(PAGES))
def test_access_table(cast, pet, reminder, page):
    path, method, data, expected = PAGES[page]
    url = path.format(pet=pet.pk, r=reminder.pk)
    clients = [cast.client_for(name) for name in ROLES]
    for who, client in enumerate(clients):
        with transaction.atomic():
            before = _state()
            response = getattr(client, method)(url, data or {})
            assert response.status_code == expected[who], (ROLE_IDS[who], response.status_code)
            changed = _state() != before
            assert changed == (method == "post" and response.status_code == 302 and who < 2)
            if page == "all" and ROLES[who] == "charlie":
                assert "Secret pill" not in response.content.decode()
            transaction.set_rollback(True)


def test_the_form_makes_a_weekly_reminder(cast, pet):
    client = cast.client_for("bob")
    response = client.post(f"/pets/{pet.pk}/reminders/new/", FORM)
    assert response.status_code == 302
    made = Reminder.objects.get(title="Brush teeth")
    assert made.rule == "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TH;COUNT=10"
    assert made.timezone == "Europe/Madrid"
    page = client.get(f"/pets/{pet.pk}/reminders/").content.decode()
    assert "Brush teeth" in page and "Monday, Thursday" in page


def test_the_form_refuses_bad_input_with_400(cast, pet):
    client = cast.client_for("alice")
    bad = {**FORM, "timezone": "Nowhere/Land", "ends": "until", "until": ""}
    response = client.post(f"/pets/{pet.pk}/reminders/new/", bad)
    assert response.status_code == 400
    assert "Choose the last date." in response.content.decode()
    assert not Reminder.objects.exists()
    response = client.post(f"/pets/{pet.pk}/reminders/new/", {**FORM, "timezone": "Nowhere/Land"})
    assert response.status_code == 400
    assert not Reminder.objects.exists()


def test_buttons_mark_done_with_who(cast, pet, reminder):
    client = cast.client_for("bob")
    client.post(f"/reminders/{reminder.pk}/done/")
    occurrence = Occurrence.objects.get(reminder=reminder)
    assert (occurrence.status, occurrence.by) == ("done", cast.bob)
    history = client.get(f"/reminders/{reminder.pk}/").content.decode()
    assert "Done" in history and "Bob" in history


def test_pet_page_shows_the_reminders_card_and_follows_changes(cast, pet, reminder):
    client = cast.client_for("carol")
    page = client.get(f"/pets/{pet.pk}/").content.decode()
    assert "Secret pill" in page and f"/pets/{pet.pk}/reminders/" in page
    services.reminder_update(actor=cast.alice, reminder=reminder, title="Renamed pill")
    page = client.get(f"/pets/{pet.pk}/").content.decode()  # the cached card moved on
    assert "Renamed pill" in page and "Secret pill" not in page


def test_pages_speak_spanish(cast, pet, reminder):
    from django.conf import settings

    client = cast.client_for("alice")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = client.get(f"/pets/{pet.pk}/reminders/").content.decode()
    assert "Recordatorios de Rex" in page and "Cada día" in page and "Posponer 1 h" in page
