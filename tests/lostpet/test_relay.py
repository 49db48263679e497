"""The relay: the owners answer a finder by email without showing their own address; the
finder's contact reaches the owners only if shared (see test_sightings); the owner's
contacts reach the finder only if the public page shows them."""

from __future__ import annotations

import pytest

from pawfile.lostpet import sightings
from pawfile.lostpet.models import Sighting
from tests.lostpet.conftest import Lost


@pytest.fixture(autouse=True)
def _registered():
    from pawfile.lib import registry
    from pawfile.lostpet import contributions

    with registry.temporary_registrations():
        contributions.register()
        yield


def report(lost: Lost, **fields) -> Sighting:
    values = {"message": "Seen by the river", **fields}
    return sightings.sighting_report(
        profile=lost.profile, report=sightings.FinderReport(**values), client_address="198.51.100.7"
    )


def test_reply_is_relayed_without_the_owners_address(
    lost: Lost, smtp_server, django_capture_on_commit_callbacks
) -> None:
    sighting = report(lost, email="finder@example.net")
    with django_capture_on_commit_callbacks(execute=True):
        response = lost.cast.client_for("alice").post(
            f"/sightings/{sighting.pk}/reply/", {"body": "Thank you! I am on my way."}
        )
    assert response.status_code == 302
    mail = smtp_server.wait_for(to="finder@example.net", subject_contains="answered")
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Thank you! I am on my way." in body
    assert "alice@example.org" not in str(mail)
    # The owner shows contacts on the public page: the mail names them.
    assert "+34 655 444 321" in body and f"/p/{lost.profile.slug}" in body
    assert "+34 611 222 333" not in body  # the private contact never


def test_reply_mail_holds_only_the_text_when_contacts_are_hidden(
    lost: Lost, smtp_server, django_capture_on_commit_callbacks
) -> None:
    from pawfile.lostpet import services
    from pawfile.lostpet.choices import ContactMode

    services.profile_update(actor=lost.cast.alice, pet=lost.pet, contact_mode=ContactMode.FORM)
    sighting = report(lost, email="finder@example.net")
    with django_capture_on_commit_callbacks(execute=True):
        sightings.sighting_reply(actor=lost.cast.bob, sighting_id=sighting.pk, body="Coming!")
    body = (
        smtp_server.wait_for(to="finder@example.net")
        .get_body(preferencelist=("plain",))
        .get_content()
    )
    assert "Coming!" in body
    assert "+34 655 444 321" not in body and "/p/" not in body
    assert "alice@example.org" not in body and "bob@example.org" not in body


def test_reply_without_finder_email_is_kept_not_mailed(lost: Lost) -> None:
    sighting = report(lost)
    reply = sightings.sighting_reply(actor=lost.cast.alice, sighting_id=sighting.pk, body="Ok")
    assert not reply.mailed
