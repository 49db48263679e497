"""The pet page's frame is kept drawn per process (``pawfile.accounts.frame``): in every state
a person can put the page in, the kept frame must give the very page a plain render gives.

Each step changes one thing the frame shows (the name, the theme, the language, the bell,
a household, the address, the person, the staff flag, the pet's name, a message to show)
and compares the served page with the plain ``render`` of the same template, the CSRF tokens
aside (each response masks its own).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.shortcuts import render
from django.test import Client

from pawfile.accounts import frame
from pawfile.notifications.models import Notification
from pawfile.pets import views as pet_views
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+"')


def plain_render(request, template_name, context, *, holes, vary):  # type: ignore[no-untyped-def]
    return render(request, template_name, {**context, **holes})


def page(client: Client, path: str, **headers: str) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return TOKEN.sub(r"\1TOKEN", response.content.decode())


@pytest.fixture
def compare(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """``compare(client, path)``: the framed page (asked twice: drawn, then kept) equals the
    plain render; returns it."""
    frame.frame_cache_clear()

    def check(client: Client, path: str, **headers: str) -> str:
        with monkeypatch.context() as patch:
            patch.setattr(pet_views, "render_framed", plain_render)
            expected = page(client, path, **headers)
        assert page(client, path, **headers) == expected
        assert page(client, path, **headers) == expected  # the kept frame
        return expected

    return check


def test_the_kept_frame_follows_everything_it_shows(
    cast: Cast, pet, compare: Callable[..., str]
) -> None:
    path = f"/pets/{pet.pk}/"
    alice = cast.client_for("alice")
    assert "alice@example.org" in compare(alice, path)
    drawn = len(frame._frames)
    assert drawn == 1  # kept once for this state, then used

    cast.alice.name = "Alicia"
    cast.alice.save()
    assert "<strong>Alicia</strong>" in compare(alice, path)

    cast.alice.theme = "dark"
    cast.alice.save()
    assert 'data-theme="dark"' in compare(alice, path)

    cast.alice.locale = "es"
    cast.alice.save()
    assert ">Cuenta<" in compare(alice, path, **{"Accept-Language": "es"})
    cast.alice.locale = "en"
    cast.alice.save()

    Notification.objects.create(recipient=cast.alice, kind="test", title="Hello", in_inbox=True)
    assert re.search(r"data-notification-count>1<", compare(alice, path))

    cast.household.name = "The Smiths"
    cast.household.save()
    assert "The Smiths" in compare(alice, path)

    assert f'name="next" value="{path}?tab=notes"' in compare(alice, f"{path}?tab=notes")

    pet.name = "Rexy"
    pet.save()
    assert "<title>Rexy · Pawfile</title>" in compare(alice, path)

    cast.carol.is_staff = True
    cast.carol.save()
    carol = compare(cast.client_for("carol"), path)
    assert "carol@example.org" in carol and "alice@example.org" not in carol
    assert len(frame._frames) > drawn


def test_a_message_is_shown_once_and_never_kept(
    cast: Cast, pet, compare: Callable[..., str]
) -> None:
    client = cast.client_for("alice")
    path = f"/pets/{pet.pk}/"
    compare(client, path)
    data = {"name": "Rex", "species": "dog", "sex": "male", "weight_unit": "kg"}
    assert client.post(f"/pets/{pet.pk}/edit/", data).status_code == 302
    assert "The changes were saved." in page(client, path)
    assert "The changes were saved." not in compare(client, path)  # once, and not kept
    assert len(frame._frames) == 1  # the frame shows nothing the edit changed: kept, reused


def test_a_pet_name_that_looks_like_a_marker_stays_text(
    cast: Cast, pet, compare: Callable[..., str]
) -> None:
    pet.name = "__pawfile_frame_0_dashboard__"
    pet.save()
    html = compare(cast.client_for("alice"), f"/pets/{pet.pk}/")
    assert "<title>__pawfile_frame_0_dashboard__ · Pawfile</title>" in html
