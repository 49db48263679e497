"""The pet page as a dashboard: what a person notices on it, and its cache.

The cards are cached by the pet's revision and by everything else they show
(``pets.dashboard``): each test below changes one of those inputs between two visits and
checks that the page follows, with the cache left warm in between (the autouse fixture
empties it only between tests).
"""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import formats
from django.utils.html import escape

from pawfile.accounts import services as account_services
from pawfile.health import services as health_services
from pawfile.lib import registry
from pawfile.pets import services
from pawfile.pets.models import Pet
from tests.conftest import Cast
from tests.pets.conftest import World

# 10:30 UTC on 10 March 2027: already 11 March in Kiritimati (UTC+14), 10 March in UTC.
INSTANT = dt.datetime(2027, 3, 10, 10, 30, tzinfo=dt.UTC)


def _page(client: Client, pet: Pet) -> str:
    response = client.get(f"/pets/{pet.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def _vaccinate(cast: Cast, pet: Pet, name: str, *, given: dt.date, due: dt.date | None) -> None:
    health_services.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name=name, date=given, next_due=due
    )


# --- What a person sees ------------------------------------------------------------------------


def test_health_card_leads_with_the_overdue_item(cast: Cast, pet: Pet) -> None:
    today = dt.date.today()
    _vaccinate(
        cast, pet, "Leptospirosis", given=today - dt.timedelta(300), due=today + dt.timedelta(200)
    )
    _vaccinate(cast, pet, "Rabies", given=today - dt.timedelta(400), due=today - dt.timedelta(3))
    _vaccinate(
        cast, pet, "Parvovirus", given=today - dt.timedelta(350), due=today + dt.timedelta(5)
    )
    health_services.record_create(
        actor=cast.alice, pet=pet, kind="medication", name="Apoquel", date=today, dose="16 mg"
    )
    health_services.record_create(
        actor=cast.alice, pet=pet, kind="allergy", name="Chicken", date=today, severity="severe"
    )
    html = _page(cast.client_for("carol"), pet)
    health = html.split('id="health-heading"')[1].split('id="weight-heading"')[0]
    header = health.split("</header>")[0]
    assert "due-overdue" in header and "Overdue" in header
    attention = health.split('class="health-attention"')[1].split("</section>")[0]
    # Overdue first, then due soon; the one due in 200 days waits below.
    assert attention.index("Rabies") < attention.index("Parvovirus")
    assert "Leptospirosis" not in attention
    assert health.index("Leptospirosis") > health.index("Parvovirus")
    assert "was due" in attention
    medication = health.split('id="medication-heading"')[1].split("</section>")[0]
    assert "Apoquel" in medication and "16 mg" in medication
    allergies = health.split('id="allergies-heading"')[1].split("</section>")[0]
    assert "Chicken" in allergies and "Severe" in allergies


def test_weight_chart_has_axis_labels_a_legend_and_point_tooltips(cast: Cast, pet: Pet) -> None:
    for days_ago, value in ((90, "11.8"), (60, "12.4"), (30, "12.1"), (1, "12.6")):
        health_services.weight_record(
            actor=cast.alice, pet=pet, value=value, unit="kg",
            date=dt.date.today() - dt.timedelta(days_ago),
        )  # fmt: skip
    html = _page(cast.client_for("alice"), pet)
    weight = html.split('id="weight-heading"')[1].split("</article>")[0]
    assert "weight-chart-wide" in weight and "weight-chart-narrow" in weight
    assert re.search(r'class="chart-label chart-label-y"[^>]*>\d+(\.\d)? kg<', weight)
    assert weight.count("chart-label-x") >= 4  # dates under both drawings
    legend = weight.split('class="chart-legend"')[1].split("</ul>")[0]
    assert "Weight (kg)" in legend and "Trend:" in legend and "per month" in legend
    assert "<title>" in weight and ": 12.6 kg</title>" in weight  # each point tells its value
    assert "chart-point-label" in weight  # the latest weight is written on the chart
    assert "style=" not in weight


def test_a_new_pet_says_what_to_do_next(cast: Cast, pet: Pet) -> None:
    owner = _page(cast.client_for("alice"), pet)
    assert "No due date" not in owner  # the old "– No due date" badge of an empty pet
    assert "No vaccinations yet." in owner
    assert f"/pets/{pet.pk}/records/new/vaccination/" in owner
    assert "Add the first vaccination" in owner
    assert "No weight recorded yet." in owner and "Add the first weight" in owner
    assert "No photos of Rex yet." in owner and "Add the first photo" in owner
    assert "No notes yet." in owner and "Add the first note" in owner
    assert "Add a vet" in owner and "Add a contact" in owner
    viewer = _page(cast.client_for("carol"), pet)
    assert "No vaccinations yet." in viewer and "Add the first vaccination" not in viewer
    assert "Add the first photo" not in viewer and "Add the first note" not in viewer


# --- Access --------------------------------------------------------------------------------------


def test_strangers_get_404_even_with_the_cards_cached(world: World) -> None:
    _page(world.cast.client_for("alice"), world.pet)  # the cache is warm now
    assert world.cast.client_for("charlie").get(f"/pets/{world.pet.pk}/").status_code == 404
    anonymous = Client().get(f"/pets/{world.pet.pk}/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_each_role_gets_its_own_buttons_whoever_came_first(world: World) -> None:
    pet = world.pet
    edit, delete = f"/pets/{pet.pk}/edit/", f"/pets/{pet.pk}/delete/"
    add_record = f"/pets/{pet.pk}/records/new/"
    for order in (("carol", "bob", "alice"), ("alice", "bob", "carol")):
        cache.clear()
        pages = {name: _page(world.cast.client_for(name), pet) for name in order}
        assert edit in pages["alice"] and delete in pages["alice"]
        assert add_record in pages["alice"] and "/primary/" in pages["alice"]
        assert edit in pages["bob"] and delete not in pages["bob"] and add_record in pages["bob"]
        assert edit not in pages["carol"] and delete not in pages["carol"]
        assert add_record not in pages["carol"] and "/primary/" not in pages["carol"]
        assert f"/notes/{world.note.pk}/edit/" not in pages["carol"]


def test_forms_carry_the_visitors_own_csrf_token(world: World) -> None:
    _page(world.cast.client_for("alice"), world.pet)  # cached with alice's visit
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.cast.bob)
    html = _page(client, world.pet)
    assert "__pawfile_" not in html
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert tokens
    response = client.post(f"/notes/{world.note.pk}/pin/", {"csrfmiddlewaretoken": tokens[0]})
    assert response.status_code == 302  # accepted: the token is bob's, not alice's


# --- The cache follows every input --------------------------------------------------------------


def test_a_change_to_the_pet_shows_at_once(world: World) -> None:
    client = world.cast.client_for("bob")
    assert "Buster" not in _page(client, world.pet)
    services.note_create(
        actor=world.cast.alice, pet=world.pet, body_html="<p>Buster is a friend</p>"
    )
    assert "Buster is a friend" in _page(client, world.pet)
    services.pet_update(actor=world.cast.alice, pet=world.pet, name="Rexy")
    assert '<h1 id="pet-name">Rexy</h1>' in _page(client, world.pet)
    health_services.record_create(
        actor=world.cast.alice, pet=world.pet, kind="vaccination", name="Distemper",
        date=dt.date.today(), next_due=dt.date.today() + dt.timedelta(365),
    )  # fmt: skip
    assert "Distemper" in _page(client, world.pet)


def test_unlinking_a_contact_leaves_the_page(world: World) -> None:
    client = world.cast.client_for("alice")
    assert "Nora Neighbour" in _page(client, world.pet)
    services.contact_update(actor=world.cast.alice, contact=world.contact, pet_ids=[])
    assert "Nora Neighbour" not in _page(client, world.pet)
    services.contact_update(actor=world.cast.alice, contact=world.contact, pet_ids=[world.pet.pk])
    assert "Nora Neighbour" in _page(client, world.pet)


def test_the_language_follows_the_visitor(world: World) -> None:
    alice = world.cast.alice
    english = _page(world.cast.client_for("alice"), world.pet)
    assert "Emergency vet" in english
    account_services.user_preferences_update(user=alice, locale="es")
    spanish = _page(world.cast.client_for("alice"), world.pet)
    assert "Emergency vet" not in spanish and 'lang="es"' in spanish


def test_the_household_name_follows_a_rename(world: World) -> None:
    client = world.cast.client_for("carol")

    def hero() -> str:
        return _page(client, world.pet).split("pet-hero-household")[1].split("</p>")[0]

    assert escape(world.cast.household.name) in hero()
    account_services.household_rename(
        household=world.cast.household, actor=world.cast.alice, name="The Barking Lot"
    )
    assert "The Barking Lot" in hero()


def test_due_status_follows_the_visitors_date_and_zone(cast: Cast, pet: Pet, settings) -> None:
    """At 23:30 UTC on 10 March the rabies shot due that day is due (not overdue) in UTC and
    overdue in Kiritimati (already 11 March); an hour later it is overdue in UTC too. The
    cached cards of the first visit are still fresh then: only the date tells them apart."""
    settings.PAWFILE_DUE_SOON_DAYS = 30
    _vaccinate(cast, pet, "Rabies", given=dt.date(2026, 3, 10), due=dt.date(2027, 3, 10))
    evening = dt.datetime(2027, 3, 10, 23, 30, tzinfo=dt.UTC)
    with time_machine.travel(evening, tick=False):
        client = cast.client_for("bob")  # bob keeps UTC
        assert "was due" not in _page(client, pet)
        account_services.user_preferences_update(user=cast.bob, timezone="Pacific/Kiritimati")
        assert "was due" in _page(client, pet)
        account_services.user_preferences_update(user=cast.bob, timezone="UTC")
        assert "was due" not in _page(client, pet)
    with time_machine.travel(evening + dt.timedelta(hours=1), tick=False):
        assert "was due" in _page(client, pet)


def test_note_dates_follow_the_visitors_zone(world: World) -> None:
    """A note written at 21:00 UTC on 9 March is of 9 March in UTC and of 10 March in
    Karachi (UTC+5); at 10:30 UTC on 10 March it is 10 March in both, so only the zone
    tells the two visits apart."""
    with time_machine.travel(dt.datetime(2027, 3, 9, 21, 0, tzinfo=dt.UTC), tick=False):
        services.note_create(actor=world.cast.alice, pet=world.pet, body_html="<p>Late walk</p>")
    with time_machine.travel(INSTANT, tick=False):
        client = world.cast.client_for("bob")
        ninth, tenth = (formats.date_format(dt.date(2027, 3, day)) for day in (9, 10))

        def notes() -> str:
            return _page(client, world.pet).split('id="notes-list"')[1].split("</article>")[0]

        assert ninth in notes()
        account_services.user_preferences_update(user=world.cast.bob, timezone="Asia/Karachi")
        assert tenth in notes() and ninth not in notes()


def test_only_cacheable_panels_are_kept(world: World, settings, tmp_path) -> None:
    """A panel registered ``cacheable`` is drawn once per state of the pet; any other panel
    (one that shows the time of day, say) on every request."""
    (tmp_path / "test_app").mkdir()
    (tmp_path / "test_app" / "panel.html").write_text("<p>Visit {{ test_app_count }}</p>")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    calls = {"live": 0, "kept": 0}

    def counted(name: str):
        def context(request, pet):
            calls[name] += 1
            return {"test_app_count": f"{name} {calls[name]}"}

        return context

    client = world.cast.client_for("alice")
    with registry.temporary_registrations():
        for name, cacheable in (("live", False), ("kept", True)):
            registry.register_pet_panel(
                app="test_app", name=name, template="test_app/panel.html",
                context=counted(name), cacheable=cacheable,
            )  # fmt: skip
        first, second = _page(client, world.pet), _page(client, world.pet)
    assert "Visit live 1" in first and "Visit live 2" in second
    assert "Visit kept 1" in first and "Visit kept 1" in second and calls["kept"] == 1
    assert "__pawfile_panel" not in second


def test_a_cacheable_panel_with_a_form_is_cached_with_each_visitors_token(
    world: World, settings, tmp_path
) -> None:
    """A cacheable panel's form is drawn once; every visitor's copy carries their own CSRF
    token, which the server accepts."""
    (tmp_path / "test_app").mkdir()
    (tmp_path / "test_app" / "form.html").write_text(
        '<form method="post" action="/notes/{{ note_id }}/pin/">{% csrf_token %}'
        "<button>Pin ({{ test_app_count }})</button></form>"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    calls = [0]

    def context(request, pet):
        calls[0] += 1
        return {"test_app_count": calls[0], "note_id": world.note.pk}

    with registry.temporary_registrations():
        registry.register_pet_panel(
            app="test_app", name="form", template="test_app/form.html", context=context,
            cacheable=True,
        )  # fmt: skip
        _page(world.cast.client_for("alice"), world.pet)
        client = Client(enforce_csrf_checks=True)  # alice again, on another device
        client.force_login(world.cast.alice)
        html = _page(client, world.pet)
    assert calls == [1] and "Pin (1)" in html  # drawn once, for the first visit
    assert "__pawfile_" not in html
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert tokens
    response = client.post(f"/notes/{world.note.pk}/pin/", {"csrfmiddlewaretoken": tokens[-1]})
    assert response.status_code == 302  # this session's own token


def test_text_a_person_wrote_never_receives_a_visitors_token(world: World) -> None:
    """Placeholders carry a nonce of the drawing: a note naming one stays as written."""
    bait = "__pawfile_csrf_token__ __pawfile_csrf___ __pawfile_panel_main_0__"
    services.note_create(
        actor=world.cast.bob,
        pet=world.pet,
        body_html=f'<p><a href="https://x.example/?t={bait}">x</a> {bait}</p>',
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.cast.alice)
    html = _page(client, world.pet)
    assert html.count(bait) == 2  # the link and the text, untouched
    token = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[0]
    note = html.split('id="notes-list"')[1].split("</article>")[0]
    written = note.split('<a href="https://x.example/?t=')[1].split("</p>")[0]  # the note's text
    assert bait in written and token not in written
