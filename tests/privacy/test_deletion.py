"""Deleting an account: re-authenticate, type the email, and nothing of the person is left."""

from __future__ import annotations

import io
import time

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.files.storage import default_storage
from django.db import models
from django.test import Client
from django.urls import reverse

from pawfile.accounts.choices import Role
from pawfile.accounts.models import Household, Invitation, Membership, User
from pawfile.health import services as health_services
from pawfile.health.models import Attachment, HealthRecord
from pawfile.pets import services as pet_services
from pawfile.pets.models import Note, Pet, Photo
from pawfile.pets.photos import photo_add
from pawfile.privacy import deletion
from pawfile.privacy.models import DataExport
from tests.accounts.test_tokens import login as api_login
from tests.accounts.test_tokens import me as api_me
from tests.accounts.test_tokens import refresh as api_refresh
from tests.conftest import PASSWORD, Cast
from tests.privacy.test_export import PDF, alice_data, export_request, jpeg_bytes

DELETE = "/data/delete-account/"


def reauthenticate(client: Client, password: str = PASSWORD) -> None:
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, response.content


def signed_in(cast: Cast, who: str) -> Client:
    """A browser of ``who`` that has just re-entered the password."""
    client = cast.client_for(who)
    reauthenticate(client)
    return client


def references_to(user_id: int) -> dict[str, int]:
    """Rows in any table whose foreign key (or many-to-many link) points at ``user_id``."""
    assert user_id is not None  # a deleted instance's pk is None: keep the id from before
    user_model = get_user_model()
    found: dict[str, int] = {}
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.get_fields():
            if not field.concrete or field.related_model is not user_model:
                continue
            if isinstance(field, models.ManyToManyField):
                continue  # their through tables are models of their own, checked as such
            count = model._default_manager.filter(**{field.attname: user_id}).count()
            if count:
                found[f"{model._meta.label}.{field.name}"] = count
    return found


def sessions_of(user_id: int) -> int:
    return sum(
        1 for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user_id)
    )


def test_delete_passes_ownership_and_leaves_no_trace(
    cast: Cast, pet: Pet, django_capture_on_commit_callbacks
) -> None:
    data = alice_data(cast, pet)
    alice_id = cast.alice.pk
    household = cast.household
    # Carol (viewer) has been here longer than Bob (caretaker); the caretaker still inherits.
    Membership.objects.filter(user=cast.carol, household=household).update(
        joined_at=Membership.objects.get(user=cast.alice, household=household).joined_at
    )
    # Alice is also a viewer in Charlie's household, and has sign-in extras and an export.
    charlie_home = Household.objects.get(memberships__user=cast.charlie)
    Membership.objects.create(household=charlie_home, user=cast.alice, role=Role.VIEWER)
    SocialAccount.objects.create(user=cast.alice, provider="google", uid="alice-google-1")
    Authenticator.objects.create(user=cast.alice, type=Authenticator.Type.TOTP, data={"x": 1})
    export_request(cast.client_for("alice"), django_capture_on_commit_callbacks)
    export_file = DataExport.objects.get(user=cast.alice).file_name
    own_household = Household.objects.get(memberships__user=cast.alice, name__contains="Alice")
    assert own_household == household
    mail.outbox.clear()
    before = references_to(alice_id)  # the check below looks where there is something to find
    assert {
        "accounts.Membership.user", "account.EmailAddress.user", "socialaccount.SocialAccount.user",
        "mfa.Authenticator.user", "privacy.DataExport.user", "pets.Note.author",
        "pets.Photo.uploaded_by", "health.HealthRecord.created_by",
        "health.Attachment.uploaded_by", "accounts.Invitation.invited_by",
    } <= set(before)  # fmt: skip

    browser = signed_in(cast, "alice")
    page = browser.get(DELETE).content.decode()
    assert "Bob becomes the owner" in page
    assert "you leave the household" in page  # Charlie's household
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(DELETE, {"email": "Alice@Example.org"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("landing")
    assert "Your account and its data were deleted" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert browser.get(reverse("home")).status_code == 302  # logged out

    # Bob owns the household now; Carol is still a viewer; Alice is gone from both.
    roles = dict(household.memberships.values_list("user__email", "role"))
    assert roles == {"bob@example.org": Role.OWNER, "carol@example.org": Role.VIEWER}
    assert not charlie_home.memberships.filter(user_id=alice_id).exists()
    assert not User.objects.filter(pk=alice_id).exists()

    # What she wrote in the household stays, without her name.
    assert Note.objects.filter(pet__household=household, author=None).count() == 1
    assert Note.objects.filter(pet__household=household).count() == 2
    assert HealthRecord.objects.filter(pet__household=household, created_by=None).count() == 2
    assert Photo.objects.get(pk=data.photo.pk).uploaded_by is None
    assert Attachment.objects.get(pk=data.attachment.pk).uploaded_by is None
    assert Invitation.objects.get(email="dana@example.org").invited_by is None
    assert default_storage.exists(data.photo.path("full", "jpeg"))
    assert default_storage.exists(data.attachment.file.name)

    # Her own rows are gone, and no row anywhere points at her.
    assert not EmailAddress.objects.filter(email="alice@example.org").exists()
    assert not SocialAccount.objects.filter(uid="alice-google-1").exists()
    assert not Authenticator.objects.filter(user_id=alice_id).exists()
    assert not DataExport.objects.filter(user_id=alice_id).exists()
    assert not default_storage.exists(export_file)
    assert references_to(alice_id) == {}
    assert sessions_of(alice_id) == 0

    # The goodbye email.
    (message,) = mail.outbox
    assert message.to == ["alice@example.org"]
    assert "was deleted" in message.subject
    assert f'"{household.name}" now belongs to Bob.' in message.body
    assert f'You left "{charlie_home.name}".' in message.body


def test_lone_household_goes_with_its_pets_and_files(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    charlie, charlie_id = cast.charlie, cast.charlie.pk
    home = Household.objects.get(memberships__user=charlie)
    zorro = pet_services.pet_create(actor=charlie, household=home, name="Zorro", species="dog")
    photo = photo_add(actor=charlie, pet=zorro, upload=io.BytesIO(jpeg_bytes()))
    record = health_services.record_create(actor=charlie, pet=zorro, kind="lab", name="Blood")
    attachment = health_services.attachment_add(
        actor=charlie, record=record, upload=io.BytesIO(PDF), filename="blood.pdf"
    )
    pet_services.note_create(actor=charlie, pet=zorro, body_html="<p>Good boy</p>")
    pet_services.contact_create(actor=charlie, household=home, name="Neighbour")
    pet_dir = settings.MEDIA_ROOT / "pets" / str(zorro.pk)
    assert sum(1 for p in pet_dir.rglob("*") if p.is_file()) == 7  # 6 photo variants + PDF

    browser = signed_in(cast, "charlie")
    assert (
        "you are its only member: it is deleted with its 1 pet"
        in browser.get(DELETE).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(DELETE, {"email": "charlie@example.org"})
    assert response.status_code == 302 and response["Location"] == reverse("landing")

    assert not Household.objects.filter(pk=home.pk).exists()
    assert not Pet.objects.filter(pk=zorro.pk).exists()
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    assert not HealthRecord.objects.filter(pk=record.pk).exists()
    assert [p for p in pet_dir.rglob("*") if p.is_file()] == []
    assert references_to(charlie_id) == {}
    # Alice's household is untouched.
    assert cast.household.memberships.count() == 3


def test_sessions_and_api_tokens_die_with_the_account(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    alice_id = cast.alice.pk
    tokens = api_login(Client(), "alice@example.org")
    assert api_me(Client(), tokens["access_token"]) == 200
    other_browser = cast.client_for("alice")
    assert other_browser.get(reverse("home")).status_code == 200
    assert sessions_of(alice_id) >= 2

    with django_capture_on_commit_callbacks(execute=True):
        deletion.account_delete(user=cast.alice)

    assert sessions_of(alice_id) == 0
    assert api_me(Client(), tokens["access_token"]) == 401
    assert api_refresh(Client(), tokens["refresh_token"]).status_code != 200
    response = other_browser.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_a_stale_session_must_reauthenticate_first(cast: Cast) -> None:
    browser = cast.client_for("alice")  # signed in, but never re-entered the password
    response = browser.get(DELETE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    # A POST is held back too: nothing is deleted until the password is given.
    response = browser.post(DELETE, {"email": "alice@example.org"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert User.objects.filter(pk=cast.alice.pk).exists()

    reauthenticate(browser)
    assert browser.get(DELETE).status_code == 200

    # Some time later the re-authentication is stale again.
    session = browser.session
    records = session[AUTHENTICATION_METHODS_SESSION_KEY]
    for record in records:
        record["at"] = time.time() - 3600
    session[AUTHENTICATION_METHODS_SESSION_KEY] = records
    session.save()
    response = browser.get(DELETE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_wrong_password_does_not_reauthenticate(cast: Cast) -> None:
    browser = cast.client_for("alice")
    response = browser.post(reverse("account_reauthenticate"), {"password": "wrong-password"})
    assert response.status_code == 200  # the form again, with its error
    assert browser.get(DELETE).status_code == 302


@pytest.mark.parametrize("typed", ["", "bob@example.org", "alice@example.org.evil", "alice"])
def test_wrong_typed_email_is_refused(cast: Cast, typed: str) -> None:
    browser = signed_in(cast, "alice")
    response = browser.post(DELETE, {"email": typed})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="field-error"' in html
    assert User.objects.filter(pk=cast.alice.pk).exists()
    assert cast.household.memberships.get(user=cast.alice).role == Role.OWNER
    assert browser.get(reverse("home")).status_code == 200  # still signed in


def test_successor_falls_back_to_the_longest_standing_viewer(cast: Cast) -> None:
    dave = User.objects.create_user(email="dave@example.org", password=PASSWORD, name="Dave")
    Membership.objects.create(household=cast.household, user=dave, role=Role.VIEWER)
    Membership.objects.filter(user=cast.bob, household=cast.household).delete()
    deletion.account_delete(user=cast.alice)
    roles = dict(cast.household.memberships.values_list("user__email", "role"))
    assert roles == {"carol@example.org": Role.OWNER, "dave@example.org": Role.VIEWER}


def test_a_caretaker_leaving_changes_nothing_else(cast: Cast, pet: Pet) -> None:
    note = pet_services.note_create(actor=cast.bob, pet=pet, body_html="<p>Fed at 8</p>")
    bob_id = cast.bob.pk
    deletion.account_delete(user=cast.bob)
    roles = dict(cast.household.memberships.values_list("user__email", "role"))
    assert roles == {"alice@example.org": Role.OWNER, "carol@example.org": Role.VIEWER}
    note.refresh_from_db()
    assert note.author is None and Pet.objects.filter(pk=pet.pk).exists()
    assert references_to(bob_id) == {}


def test_data_pages_pass_the_strict_csp(cast: Cast) -> None:
    from tests.accounts.test_pages import _inline_problems

    browser = signed_in(cast, "alice")
    for url in (reverse("data_index"), DELETE, "/data/exports/forged/download/"):
        response = browser.get(url)
        assert response.status_code in (200, 404), url
        problems, scripts = _inline_problems(response.content.decode())
        assert problems == [] and scripts >= 2, (url, problems)
