"""Pet tags: made, relinked, unlinked by the pet's household; the redirect sends them to the
pet's public page (the path the registered resolver gives) or to the claim page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pawfile.lib.errors import Forbidden, Invalid, NotFound
from pawfile.pets.models import Pet
from pawfile.qr import petpage, services
from pawfile.qr.choices import TargetKind
from pawfile.qr.models import QRCode, RedirectGeneration


@pytest.fixture(autouse=True)
def _resolver() -> Iterator[None]:
    installed = petpage.pet_page_path_resolver()  # the lost-pet app's, put back after
    petpage.pet_page_path_register(lambda pet: f"/p/slug-{pet.pk}")
    yield
    if installed is None:
        petpage.pet_page_path_unregister()
    else:
        petpage.pet_page_path_register(installed)


def _generation() -> int:
    return RedirectGeneration.objects.get(pk=1).value


def test_owner_makes_a_tag_with_defaults(cast, pet, wsgi) -> None:
    code = services.pet_code_create(actor=cast.alice, pet=pet)
    assert code.title == "Rex tag"
    assert code.target_kind == TargetKind.PET_PAGE
    assert code.target_ref == pet.pk
    assert code.household_id == cast.household.pk
    assert code.target_url == f"/p/slug-{pet.pk}"
    answer = wsgi(f"/r/{code.id}")
    assert answer.status == 302
    assert answer.headers["Location"] == f"/p/slug-{pet.pk}"


def test_caretaker_may_style_a_tag(cast, pet) -> None:
    code = services.pet_code_create(
        actor=cast.bob, pet=pet, title="Collar", fg_color="#123456", frame_text="IF FOUND"
    )
    assert (code.title, code.fg_color, code.frame_text) == ("Collar", "#123456", "IF FOUND")


def test_bad_style_refused(cast, pet) -> None:
    with pytest.raises(Invalid) as refusal:
        services.pet_code_create(actor=cast.alice, pet=pet, fg_color="#ffffff")
    assert "fg_color" in refusal.value.fields or "bg_color" in refusal.value.fields


@pytest.mark.parametrize(
    ("who", "error"), [("carol", Forbidden), ("charlie", NotFound)], ids=["viewer", "stranger"]
)
def test_viewer_and_stranger_cannot_make_link_or_unlink(cast, pet, who, error) -> None:
    actor = getattr(cast, who)
    with pytest.raises(error):
        services.pet_code_create(actor=actor, pet=pet)
    code = services.pet_code_create(actor=cast.alice, pet=pet)
    with pytest.raises(error):
        services.pet_code_unlink(actor=actor, code_id=code.id)
    with pytest.raises(error):
        services.pet_code_link(actor=actor, code_id=code.id, pet=pet)
    assert QRCode.objects.get(pk=code.id).target_kind == TargetKind.PET_PAGE


def test_unlink_then_relink_to_another_pet(cast, pet, wsgi) -> None:
    other = Pet.objects.create(household=cast.household, name="Mia", species="cat")
    code = services.pet_code_create(actor=cast.alice, pet=pet)
    wsgi(f"/r/{code.id}")
    before = _generation()
    services.pet_code_unlink(actor=cast.bob, code_id=code.id)
    assert _generation() == before + 1
    wsgi.refresh()
    answer = wsgi(f"/r/{code.id}")
    assert answer.status == 302
    assert answer.headers["Location"] == f"/t/{code.id}"
    unlinked = QRCode.objects.get(pk=code.id)
    assert unlinked.household_id == cast.household.pk
    assert unlinked.target_ref is None

    services.pet_code_link(actor=cast.alice, code_id=code.id, pet=other)
    wsgi.refresh()
    assert wsgi(f"/r/{code.id}").headers["Location"] == f"/p/slug-{other.pk}"


def test_a_tag_does_not_move_to_a_household_the_actor_cannot_write(cast, pet) -> None:
    code = services.pet_code_create(actor=cast.alice, pet=pet)
    charlies_pet = Pet.objects.create(
        household=cast.charlie.memberships.get().household, name="Zed", species="dog"
    )
    with pytest.raises(NotFound):  # charlie cannot touch alice's tag
        services.pet_code_link(actor=cast.charlie, code_id=code.id, pet=charlies_pet)
    with pytest.raises(NotFound):  # alice cannot put it on charlie's pet
        services.pet_code_link(actor=cast.alice, code_id=code.id, pet=charlies_pet)


def test_generic_codes_are_not_tags(cast, pet, code) -> None:
    with pytest.raises(NotFound):
        services.pet_code_link(actor=cast.alice, code_id=code.id, pet=pet)
    with pytest.raises(NotFound):
        services.pet_code_unlink(actor=cast.alice, code_id=code.id)
    with pytest.raises(NotFound):
        services.pet_code_link(actor=cast.alice, code_id="zzzzzzzzzz", pet=pet)


def test_retarget_follows_a_new_page_path(cast, pet, wsgi) -> None:
    code = services.pet_code_create(actor=cast.alice, pet=pet)
    petpage.pet_page_path_register(lambda p: f"/p/new-{p.pk}")
    assert services.pet_codes_retarget(pet) == 1
    assert services.pet_codes_retarget(pet) == 0
    wsgi.refresh()
    assert wsgi(f"/r/{code.id}").headers["Location"] == f"/p/new-{pet.pk}"


def test_deleting_the_pet_unlinks_its_tags(cast, pet, wsgi) -> None:
    from pawfile.pets import services as pet_services

    code = services.pet_code_create(actor=cast.alice, pet=pet)
    pet_services.pet_delete(actor=cast.alice, pet=pet)
    left = QRCode.objects.get(pk=code.id)
    assert left.target_kind == TargetKind.UNCLAIMED
    assert left.household_id == cast.household.pk
    wsgi.refresh()
    assert wsgi(f"/r/{code.id}").headers["Location"] == f"/t/{code.id}"


def test_resolver_must_give_a_safe_path(cast, pet) -> None:
    for bad in ("//evil.example", "javascript:alert(1)", "/p/a b", "/\\evil"):

        def resolver(p: object, bad: str = bad) -> str:
            return bad

        petpage.pet_page_path_register(resolver)
        with pytest.raises(ValueError, match="not a safe"):
            services.pet_code_create(actor=cast.alice, pet=pet)


def test_without_a_resolver_the_tag_leads_inside_the_app(cast, pet) -> None:
    petpage.pet_page_path_unregister()
    code = services.pet_code_create(actor=cast.alice, pet=pet)
    assert code.target_url == f"/pets/{pet.pk}/"
