"""The health box of the pet page (``pet_panel_context`` + ``health/_pet_panel.html``)."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.template.loader import render_to_string
from django.test import RequestFactory

from pawfile.health import services
from pawfile.health.views import pet_panel_context
from pawfile.pets.selectors import pet_get
from tests.conftest import Cast
from tests.health.samples import days


def _panel(user, pet) -> str:
    request = RequestFactory().get(f"/pets/{pet.pk}/")
    request.user = user
    pet = pet_get(user=user, pet_id=pet.pk)
    context = pet_panel_context(request, pet)
    return render_to_string("health/_pet_panel.html", {**context, "pet": pet}, request=request)


def test_panel_shows_due_items_summary_and_last_weight(cast: Cast, pet) -> None:
    services.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name="Rabies", date=days(-300),
        next_due=days(-1),
    )  # fmt: skip
    services.record_create(
        actor=cast.alice, pet=pet, kind="deworming", name="Milbemax", date=days(-20),
        next_due=days(70),
    )  # fmt: skip
    services.weight_record(actor=cast.alice, pet=pet, value="12.4", unit="kg", date=days(-40))
    services.weight_record(actor=cast.alice, pet=pet, value="12.1", unit="kg", date=days(-2))
    html = _panel(cast.carol, pet)
    header = html.split('id="health-heading"')[1].split("</header>")[0]
    assert "due-overdue" in header and "Overdue" in header
    assert html.index("Rabies") < html.index("Milbemax")  # worst first
    attention = html.split('class="health-attention"')[1].split("</section>")[0]
    assert "Rabies" in attention and "Milbemax" not in attention  # only what needs it
    assert "12.1 kg" in html and "down from 12.4 kg" in html and "↓" in html
    assert "weight-chart-wide" in html and "weight-chart-narrow" in html
    assert "chart-legend" in html and "Trend:" in html
    assert f"/pets/{pet.pk}/timeline/" in html
    assert "Add record" not in html  # carol only looks
    assert "style=" not in html


def test_writers_get_add_record_links(cast: Cast, pet) -> None:
    html = _panel(cast.bob, pet)
    assert "Add record" in html
    assert f"/pets/{pet.pk}/records/new/vaccination/" in html
    assert f"/pets/{pet.pk}/records/new/weight/" in html
    assert "No vaccinations yet." in html and "Add the first vaccination" in html
    assert "No weight recorded yet." in html and "Add the first weight" in html
    assert "No due date" not in html and "due-none" not in html


def test_panel_refuses_strangers(cast: Cast, pet) -> None:
    request = RequestFactory().get("/")
    request.user = cast.charlie
    with pytest.raises(Http404):
        pet_panel_context(request, pet)


def test_pet_pages_show_the_panel_and_the_list_badge(cast: Cast, pet) -> None:
    """Through the pet pages: the panel on the detail page and the due badge on the list."""
    from django.urls import reverse

    detail, listing = reverse("pet_detail", args=[pet.pk]), reverse("pet_list")
    services.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name="Rabies", date=days(-300),
        next_due=days(-1),
    )  # fmt: skip
    client = cast.client_for("carol")
    page = client.get(detail).content.decode()
    assert 'class="card health-card"' in page and "Rabies" in page and "due-overdue" in page
    assert "Overdue" in client.get(listing).content.decode()
