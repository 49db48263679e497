"""Claiming a pre-printed tag at ``/t/{id}``: sign in, pick a pet, done; once only,
race-safe, rate-limited; the access table owner/caretaker/viewer/stranger/anonymous."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import close_old_connections
from django.test import Client

from pawfile.lib.errors import Conflict, Forbidden, NotFound, TooMany
from pawfile.pets.models import Pet
from pawfile.qr import batches, claim, petpage, services
from pawfile.qr.choices import TargetKind
from pawfile.qr.models import QRCode
from tests.conftest import PASSWORD
from tests.e2e.conftest import browser, chromium_executable, page, site_url  # noqa: F401


@pytest.fixture(autouse=True)
def _resolver() -> Iterator[None]:
    installed = petpage.pet_page_path_resolver()  # the lost-pet app's, put back after
    petpage.pet_page_path_register(lambda pet: f"/p/slug-{pet.pk}")
    yield
    if installed is None:
        petpage.pet_page_path_unregister()
    else:
        petpage.pet_page_path_register(installed)


@pytest.fixture
def tags(manager) -> list[QRCode]:
    batch = batches.batch_create(actor=manager, count=3)
    return list(QRCode.objects.filter(batch=batch).order_by("id"))


def _claim(client: Client, code: QRCode, pet: Pet):
    return client.post(f"/t/{code.id}", {"pet": str(pet.pk)})


def test_scan_to_claim_to_pet_page(cast, pet, tags, wsgi) -> None:
    tag = tags[0]
    first = wsgi(f"/r/{tag.id}")
    assert first.headers["Location"] == f"/t/{tag.id}"

    anonymous = Client()
    shown = anonymous.get(f"/t/{tag.id}")
    html = shown.content.decode()
    assert shown.status_code == 200
    assert "This tag is not linked yet" in html
    assert f"/accounts/login/?next=%2Ft%2F{tag.id}" in html
    assert f"/accounts/signup/?next=%2Ft%2F{tag.id}" in html

    alice = cast.client_for("alice")
    html = alice.get(f"/t/{tag.id}").content.decode()
    assert 'name="pet"' in html and "Rex" in html
    response = _claim(alice, tag, pet)
    assert response.status_code == 302 and response["Location"] == f"/t/{tag.id}"
    done = alice.get(f"/t/{tag.id}").content.decode()
    assert "now leads to Rex" in done and f"/p/slug-{pet.pk}" in done

    tag.refresh_from_db()
    assert tag.target_kind == TargetKind.PET_PAGE
    assert (tag.household_id, tag.target_ref) == (cast.household.pk, pet.pk)
    assert tag.claimed_by == cast.alice and tag.claimed_at is not None
    assert tag.batch_id is not None
    wsgi.refresh()
    assert wsgi(f"/r/{tag.id}").headers["Location"] == f"/p/slug-{pet.pk}"


def test_anonymous_post_goes_to_sign_in(pet, tags) -> None:
    response = _claim(Client(), tags[0], pet)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=%2Ft%2F{tags[0].id}"
    assert QRCode.objects.get(pk=tags[0].id).target_kind == TargetKind.UNCLAIMED


def test_a_claimed_tag_cannot_be_claimed_again(cast, pet, tags) -> None:
    _claim(cast.client_for("alice"), tags[0], pet)
    charlies_pet = Pet.objects.create(
        household=cast.charlie.memberships.get().household, name="Zed", species="dog"
    )
    charlie = cast.client_for("charlie")
    shown = charlie.get(f"/t/{tags[0].id}")
    assert shown.status_code == 200 and "already linked" in shown.content.decode()
    assert "Rex" not in shown.content.decode()  # nothing of the pet for a stranger
    again = _claim(charlie, tags[0], charlies_pet)
    assert again.status_code == 409
    assert "cannot be claimed again" in again.content.decode()
    with pytest.raises(Conflict):
        claim.tag_claim(
            actor=cast.charlie, code_id=tags[0].id, pet_id=charlies_pet.pk, client_address="x"
        )
    assert QRCode.objects.get(pk=tags[0].id).target_ref == pet.pk


@pytest.mark.parametrize(
    ("who", "status", "claimed"),
    [
        ("alice", 302, True),  # owner
        ("bob", 302, True),  # caretaker
        ("carol", 400, False),  # viewer: Rex is not offered to her
        ("charlie", 400, False),  # stranger: the same
        (None, 302, False),  # anonymous: to sign in
    ],
    ids=["owner", "caretaker", "viewer", "stranger", "anonymous"],
)
def test_access_table_claim(cast, pet, tags, who, status, claimed) -> None:
    response = _claim(cast.client_for(who), tags[0], pet)
    assert response.status_code == status
    code = QRCode.objects.get(pk=tags[0].id)
    assert (code.target_kind == TargetKind.PET_PAGE) is claimed


@pytest.mark.parametrize(
    ("who", "error"), [("carol", Forbidden), ("charlie", NotFound)], ids=["viewer", "stranger"]
)
def test_service_refuses_a_pet_the_actor_cannot_change(cast, pet, tags, who, error) -> None:
    with pytest.raises(error):
        claim.tag_claim(
            actor=getattr(cast, who), code_id=tags[0].id, pet_id=pet.pk, client_address="x"
        )


def test_viewer_is_offered_no_pet(cast, pet, tags) -> None:
    html = cast.client_for("carol").get(f"/t/{tags[0].id}").content.decode()
    assert "Rex" not in html  # carol only views alice's household
    assert "no pet to link it to" in html or 'name="pet"' in html


def test_unknown_ids_and_generic_codes_404(cast, code) -> None:
    alice = cast.client_for("alice")
    for path in ("/t/zzzzzzzzzz", f"/t/{code.id}", "/t/ABC", "/t/" + "a" * 16):
        assert alice.get(path).status_code == 404, path
    assert alice.post("/t/zzzzzzzzzz", {"pet": "1"}).status_code == 404


def test_rate_limited_per_user(cast, pet, manager, settings) -> None:
    settings.PAWFILE_QR_CLAIM_RATELIMIT_USER = "2/3600"
    batch = batches.batch_create(actor=manager, count=4)
    codes = list(QRCode.objects.filter(batch=batch))
    alice = cast.client_for("alice")
    assert [_claim(alice, c, pet).status_code for c in codes[:3]] == [302, 302, 429]
    refused = _claim(alice, codes[3], pet)
    assert refused.status_code == 429 and "Too many tags claimed" in refused.content.decode()
    assert QRCode.objects.filter(batch=batch, claimed_by=cast.alice).count() == 2
    # bob (another user, same address in tests) still may
    assert _claim(cast.client_for("bob"), codes[3], pet).status_code == 302


def test_rate_limited_per_address(cast, pet, manager, settings) -> None:
    settings.PAWFILE_QR_CLAIM_RATELIMIT_IP = "1/3600"
    batch = batches.batch_create(actor=manager, count=2)
    codes = list(QRCode.objects.filter(batch=batch))
    with pytest.raises(TooMany):
        for code in codes:
            claim.tag_claim(
                actor=cast.alice, code_id=code.id, pet_id=pet.pk, client_address="198.51.100.4"
            )
    claim.tag_claim(
        actor=cast.bob, code_id=codes[1].id, pet_id=pet.pk, client_address="198.51.100.5"
    )


def test_a_claim_by_id_elsewhere_counts_too(cast, pet, manager, settings) -> None:
    """The pet's tags page links a tag by its id through ``pet_code_link``: a claim there
    counts against the same per-user limit; relinking the household's own tags does not."""
    settings.PAWFILE_QR_CLAIM_RATELIMIT_USER = "1/3600"
    batch = batches.batch_create(actor=manager, count=2)
    first, second = QRCode.objects.filter(batch=batch)
    services.pet_code_link(actor=cast.alice, code_id=first.id, pet=pet)
    with pytest.raises(TooMany):
        services.pet_code_link(actor=cast.alice, code_id=second.id, pet=pet)
    services.pet_code_link(actor=cast.alice, code_id=first.id, pet=pet)  # a relink: free
    assert QRCode.objects.get(pk=second.id).target_kind == TargetKind.UNCLAIMED


def test_unlinked_household_tag_relinked_from_the_claim_page(cast, pet, wsgi) -> None:
    mia = Pet.objects.create(household=cast.household, name="Mia", species="cat")
    tag = services.pet_code_create(actor=cast.alice, pet=pet)
    services.pet_code_unlink(actor=cast.alice, code_id=tag.id)
    html = cast.client_for("charlie").get(f"/t/{tag.id}").content.decode()
    assert "not linked to a pet right now" in html and "Rex" not in html
    assert _claim(cast.client_for("charlie"), tag, pet).status_code == 400
    bob = cast.client_for("bob")
    assert "Mia" in bob.get(f"/t/{tag.id}").content.decode()
    assert _claim(bob, tag, mia).status_code == 302
    tag.refresh_from_db()
    assert tag.target_ref == mia.pk and tag.claimed_by is None  # a relink, not a claim


def test_spanish_claim_page(pet, tags) -> None:
    shown = Client().get(f"/t/{tags[0].id}", HTTP_ACCEPT_LANGUAGE="es")
    assert "Esta chapa aún no está vinculada" in shown.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_claims_at_once_one_wins(cast, pet, manager) -> None:
    batch = batches.batch_create(actor=manager, count=1)
    tag = QRCode.objects.get(batch=batch)
    charlies_pet = Pet.objects.create(
        household=cast.charlie.memberships.get().household, name="Zed", species="dog"
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(user, target) -> None:
        try:
            barrier.wait(timeout=30)
            services.pet_code_link(actor=user, code_id=tag.id, pet=target)
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # SQLite may refuse a concurrent writer: report it
            outcomes.append(type(exc).__name__)
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=attempt, args=(cast.alice, pet)),
        threading.Thread(target=attempt, args=(cast.charlie, charlies_pet)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("won") == 1, outcomes
    tag.refresh_from_db()
    winner = cast.alice if tag.target_ref == pet.pk else cast.charlie
    assert tag.claimed_by == winner


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_claim_on_a_phone(page, site_url, cast, pet, manager) -> None:  # noqa: F811
    """Scanned (the redirect's answer is ``/t/{id}``), signed out: log in, come back to the
    tag, pick Rex, done; the code now leads to Rex's page."""
    import re

    from playwright.sync_api import expect

    from tests.e2e.pets_helpers import LOG_IN, press

    batch = batches.batch_create(actor=manager, count=1)
    tag = QRCode.objects.get(batch=batch)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/health", timeout=60_000)  # the live server's first answer is slow
    page.goto(f"/t/{tag.id}")
    expect(page.get_by_role("heading", name="This tag is not linked yet")).to_be_visible()
    page.locator("main").get_by_role("button", name="Log in").click()
    page.get_by_label("Email").first.fill(cast.alice.email)
    password = page.get_by_label("Password").first
    password.fill(PASSWORD)
    press(page, password, LOG_IN)
    expect(page).to_have_url(re.compile(rf"/t/{tag.id}$"))
    page.get_by_label("Rex").check()
    page.get_by_role("button", name="Link this tag").click()
    expect(page.get_by_text("Done: this tag now leads to Rex's page.")).to_be_visible()
    expect(page.get_by_role("button", name="Open the public page")).to_have_attribute(
        "href", f"/p/slug-{pet.pk}"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    tag.refresh_from_db()
    assert (tag.target_ref, tag.claimed_by_id) == (pet.pk, cast.alice.pk)
