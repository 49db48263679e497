"""Invitations are mail to any address: rationed per household and sender, and free of
anything the inviter typed.

A probe renamed a household to "URGENT: verify your bank at https://evil.example/login" and
sent 40 invitations in 0.4 s, the name in the subject and the body of each.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django.utils.html import escape

from pawfile.accounts import invitations, services
from pawfile.accounts.choices import InvitationStatus, Role
from pawfile.accounts.models import Invitation
from tests.conftest import Cast

PHISHING = "URGENT: verify your bank at https://evil.example/login"


def _invite(cast: Cast, email: str, household_id: int | None = None, who: str = "alice"):
    household_id = household_id or cast.household.pk
    return cast.client_for(who).post(
        f"/api/v1/households/{household_id}/invitations",
        json.dumps({"email": email, "role": "viewer"}),
        content_type="application/json",
    )


@pytest.fixture
def limits(settings):
    settings.PAWFILE_INVITATIONS_PER_DAY = 3
    settings.PAWFILE_INVITATIONS_PER_SENDER_PER_DAY = 100
    settings.PAWFILE_INVITATIONS_PENDING_MAX = 100
    return settings


def test_a_household_sends_at_most_its_daily_allowance(cast: Cast, limits) -> None:
    for n in range(3):
        assert _invite(cast, f"guest{n}@example.org").status_code == 201
    refused = _invite(cast, "guest3@example.org")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "invitations_per_day"
    assert "3 invitations today" in error["message"] and "tomorrow" in error["message"]
    assert Invitation.objects.count() == 3

    # Withdrawing does not give the mail back: each invitation sent one.
    for invitation in Invitation.objects.all():
        invitations.invitation_revoke(invitation=invitation, actor=cast.alice)
    assert _invite(cast, "guest3@example.org").status_code == 429

    # The web form says the same above the page.
    page = cast.client_for("alice").post(
        f"/households/{cast.household.pk}/invitations/",
        {"email": "guest4@example.org", "role": "viewer"},
        follow=True,
    )
    assert "3 invitations today" in page.content.decode()

    with time_machine.travel(timezone.now() + dt.timedelta(days=1, seconds=1), tick=False):
        assert _invite(cast, "guest3@example.org").status_code == 201


def test_a_sender_is_limited_across_their_households(cast: Cast, limits) -> None:
    limits.PAWFILE_INVITATIONS_PER_DAY = 100
    limits.PAWFILE_INVITATIONS_PER_SENDER_PER_DAY = 2
    second = services.household_create(owner=cast.alice, name="Cabin")
    assert _invite(cast, "a@example.org").status_code == 201
    assert _invite(cast, "b@example.org", household_id=second.pk).status_code == 201
    refused = _invite(cast, "c@example.org", household_id=second.pk)
    assert refused.status_code == 429
    assert "You have sent 2 invitations today" in refused.json()["error"]["message"]
    # Another owner's household is not held back by alice's.
    assert (
        _invite(cast, "d@example.org", who="charlie", household_id=_own(cast.charlie)).status_code
        == 201
    )


def _own(user) -> int:
    return user.memberships.get(role=Role.OWNER).household_id


def test_pending_invitations_are_capped(cast: Cast, limits) -> None:
    limits.PAWFILE_INVITATIONS_PER_DAY = 100
    limits.PAWFILE_INVITATIONS_PENDING_MAX = 2
    assert _invite(cast, "a@example.org").status_code == 201
    assert _invite(cast, "b@example.org").status_code == 201
    refused = _invite(cast, "c@example.org")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invitations_pending"
    assert "Withdraw one" in refused.json()["error"]["message"]
    # Inviting an address again replaces its pending invitation: allowed at the cap.
    assert _invite(cast, "b@example.org").status_code == 201
    pending = Invitation.objects.filter(status=InvitationStatus.PENDING)
    assert sorted(pending.values_list("email", flat=True)) == ["a@example.org", "b@example.org"]
    invitations.invitation_revoke(invitation=pending.get(email="a@example.org"), actor=cast.alice)
    assert _invite(cast, "c@example.org").status_code == 201


def test_the_defaults_stop_a_burst_of_forty(cast: Cast) -> None:
    answers = [_invite(cast, f"target{n}@example.org").status_code for n in range(40)]
    # Twenty go out; the household's allowance and its pending cap (both 20) stop the rest.
    assert answers[:20] == [201] * 20 and set(answers[20:]) <= {409, 429}
    assert Invitation.objects.count() == 20


def test_the_mail_carries_nothing_the_inviter_typed(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    client = cast.client_for("alice")
    client.post(f"/households/{cast.household.pk}/rename/", {"name": PHISHING})
    cast.household.refresh_from_db()
    assert cast.household.name == PHISHING
    cast.alice.name = "Bank of Evil https://evil.example"
    cast.alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        invitations.invitation_create(
            household=cast.household, actor=cast.alice, email="dana@example.org", role=Role.VIEWER
        )
    (message,) = mail.outbox
    assert message.subject == "You are invited to a household on Pawfile"
    assert message.alternatives == []  # no HTML part: nothing for a client to render
    for text in (message.subject, message.body):
        assert "evil" not in text and "URGENT" not in text
    # The only link in the mail is the invitation on this site.
    urls = re.findall(r"\w+://\S+", message.body)
    assert len(urls) == 1 and urls[0].startswith("http://") and "/invitations/" in urls[0]
    assert "alice@example.org invites you to join their household on Pawfile." in message.body

    # The page behind the link names the household as escaped text, never as a link.
    html = client.get(urlsplit(urls[0]).path).content.decode()
    assert escape(PHISHING) in html
    assert 'href="https://evil' not in html


def test_an_unverified_inviter_is_not_named(cast: Cast, django_capture_on_commit_callbacks) -> None:
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=cast.alice).update(verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        invitations.invitation_create(
            household=cast.household, actor=cast.alice, email="dana@example.org", role=Role.VIEWER
        )
    (message,) = mail.outbox
    assert "alice@example.org" not in message.body
    assert "You are invited to join a household on Pawfile." in message.body
