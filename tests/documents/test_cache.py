"""The report is compiled once per version of the pet's data, then served from the cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import typst

from pawfile.documents import report
from pawfile.health.services import record_create
from pawfile.pets.models import Pet
from tests.conftest import Cast, cache_reset
from tests.documents.conftest import pdf_text


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls to Typst's compiler (the list grows by one per compile)."""
    calls: list[int] = []
    real: Callable[..., Any] = typst.compile_with_warnings

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(typst, "compile_with_warnings", counting)
    return calls


def get(cast: Cast, pet: Pet, who: str = "alice", lang: str = "en") -> bytes:
    response = cast.client_for(who).get(f"/pets/{pet.pk}/report.pdf", HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return response.content


def test_second_download_comes_from_the_cache(cast: Cast, rex: Pet, compiles: list[int]) -> None:
    first = get(cast, rex)
    second = get(cast, rex, "carol")
    assert len(compiles) == 1
    assert first == second


def test_adding_a_record_makes_a_new_report(cast: Cast, rex: Pet, compiles: list[int]) -> None:
    before = get(cast, rex)
    assert "Parvovirus" not in pdf_text(before)
    record_create(actor=cast.bob, pet=rex, kind="vaccination", name="Parvovirus")
    after = get(cast, rex)
    assert len(compiles) == 2
    assert "Parvovirus" in pdf_text(after)
    get(cast, rex)
    assert len(compiles) == 2


def test_each_language_is_cached_apart(cast: Cast, pet: Pet, compiles: list[int]) -> None:
    english, spanish = get(cast, pet, lang="en"), get(cast, pet, lang="es")
    assert english != spanish
    get(cast, pet, lang="en")
    get(cast, pet, lang="es")
    assert len(compiles) == 2


def test_owner_contact_change_makes_a_new_report(cast: Cast, pet: Pet, compiles: list[int]) -> None:
    get(cast, pet)
    cast.alice.phone = "+34 699 123 456"
    cast.alice.save(update_fields=["phone"])
    assert "+34 699 123 456" in pdf_text(get(cast, pet))
    assert len(compiles) == 2


def test_the_same_data_gives_the_same_bytes(cast: Cast, rex: Pet, compiles: list[int]) -> None:
    first = report.report_pdf(user=cast.alice, pet_id=rex.pk, lang="en")
    cache_reset()  # only this worker's keys: a flush would wipe other workers' counters
    again = report.report_pdf(user=cast.alice, pet_id=rex.pk, lang="en")
    assert len(compiles) == 2
    assert first == again


def test_language_codes_fall_back_to_english() -> None:
    assert report.report_language("es-AR") == "es"
    assert report.report_language("fr") == "en"
    assert report.report_language(None) == "en"
