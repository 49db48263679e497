"""Households: invitations, roles, removal, transfer, leaving — services and the web pages."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape

import pytest
from django.core import mail
from django.utils import timezone

from pawfile.accounts import invitations, selectors, services
from pawfile.accounts.choices import InvitationStatus, Role
from pawfile.accounts.models import Household, Invitation, Membership
from pawfile.lib.errors import Conflict, Forbidden, Invalid, NotFound
from tests.conftest import Cast, make_user


def role_of(user, household) -> str | None:
    m = Membership.objects.filter(user=user, household=household).first()
    return m.role if m else None


def invitation_link(message) -> str:
    match = re.search(r"https?://\S+/invitations/(\S+?)/", message.body)
    assert match, message.body
    return match.group(1)


def test_signup_gives_a_household_owned_by_the_new_user(db: None) -> None:
    user = make_user("dana@example.org", "Dana")
    (membership,) = user.memberships.all()
    assert membership.role == Role.OWNER
    assert "Dana" in membership.household.name


def test_invitation_email_link_lets_the_invitee_join_with_the_role(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    dana = make_user("dana@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        invitations.invitation_create(
            household=cast.household, actor=cast.alice, email="Dana@Example.org", role=Role.VIEWER
        )
    (message,) = mail.outbox
    assert message.to == ["dana@example.org"]
    # What the inviter typed stays out of the mail; the page behind the link names it.
    assert message.subject == "You are invited to a household on Pawfile"
    assert cast.household.name not in message.body
    token = invitation_link(message)
    client = cast.client_for(None)
    client.force_login(dana)
    page = client.get(f"/invitations/{token}/")
    assert page.status_code == 200
    assert escape(cast.household.name) in page.content.decode()
    response = client.post(f"/invitations/{token}/")
    assert response.status_code == 302
    assert role_of(dana, cast.household) == Role.VIEWER
    # The link is one-time.
    assert client.get(f"/invitations/{token}/").status_code == 410


def test_invitation_for_someone_else_is_refused(cast: Cast) -> None:
    invitation = invitations.invitation_create(
        household=cast.household, actor=cast.alice, email="dana@example.org", role=Role.VIEWER
    )
    token = invitations.invitation_token(invitation)
    with pytest.raises(Conflict, match=r"dana@example\.org"):
        invitations.invitation_accept(token=token, user=cast.charlie)
    assert role_of(cast.charlie, cast.household) is None


def test_expired_forged_and_revoked_invitations_are_refused(cast: Cast) -> None:
    dana = make_user("dana@example.org")
    invitation = invitations.invitation_create(
        household=cast.household, actor=cast.alice, email=dana.email, role=Role.CARETAKER
    )
    token = invitations.invitation_token(invitation)
    with pytest.raises(Invalid, match="not valid"):
        invitations.invitation_accept(token=token[:-2] + "xx", user=dana)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(1))
    with pytest.raises(Conflict, match="expired"):
        invitations.invitation_accept(token=token, user=dana)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() + timedelta(1), status=InvitationStatus.REVOKED
    )
    with pytest.raises(Conflict, match="withdrawn"):
        invitations.invitation_accept(token=token, user=dana)
    assert role_of(dana, cast.household) is None


def test_only_the_owner_invites_and_manages(cast: Cast) -> None:
    with pytest.raises(Forbidden):
        invitations.invitation_create(
            household=cast.household, actor=cast.bob, email="x@example.org", role=Role.VIEWER
        )
    with pytest.raises(Forbidden):
        services.membership_set_role(
            household=cast.household, actor=cast.bob, member=cast.carol, role=Role.CARETAKER
        )
    with pytest.raises(NotFound):
        services.membership_remove(household=cast.household, actor=cast.charlie, member=cast.carol)
    assert role_of(cast.carol, cast.household) == Role.VIEWER


def test_owner_changes_roles_removes_and_transfers(cast: Cast) -> None:
    services.membership_set_role(
        household=cast.household, actor=cast.alice, member=cast.carol, role=Role.CARETAKER
    )
    assert role_of(cast.carol, cast.household) == Role.CARETAKER
    services.membership_remove(household=cast.household, actor=cast.alice, member=cast.carol)
    assert role_of(cast.carol, cast.household) is None
    services.household_transfer_ownership(
        household=cast.household, actor=cast.alice, new_owner=cast.bob
    )
    assert role_of(cast.bob, cast.household) == Role.OWNER
    assert role_of(cast.alice, cast.household) == Role.CARETAKER
    with pytest.raises(Forbidden):
        invitations.invitation_create(
            household=cast.household, actor=cast.alice, email="y@example.org", role=Role.VIEWER
        )


def test_members_leave_but_owner_must_transfer_first(cast: Cast) -> None:
    services.membership_leave(household=cast.household, user=cast.carol)
    assert role_of(cast.carol, cast.household) is None
    with pytest.raises(Conflict, match="Transfer ownership"):
        services.membership_leave(household=cast.household, user=cast.alice)
    lone = Household.objects.get(memberships__user=cast.charlie)
    services.membership_leave(household=lone, user=cast.charlie)
    assert not Household.objects.filter(pk=lone.pk).exists()


def test_selectors_show_only_what_the_user_may_see(cast: Cast) -> None:
    bobs_own = Household.objects.get(memberships__user=cast.bob, memberships__role=Role.OWNER)
    assert set(selectors.household_list(user=cast.bob)) == {cast.household, bobs_own}
    assert cast.household not in selectors.household_list(user=cast.charlie)
    with pytest.raises(NotFound):
        selectors.household_get(user=cast.charlie, household_id=cast.household.pk)
    assert list(selectors.invitation_list(user=cast.carol, household=cast.household)) == []


# --- Access control: endpoint x role -------------------------------------------------------

ROLES = ["alice", "bob", "carol", "charlie", None]  # owner, caretaker, viewer, stranger, anonymous


def _urls(cast: Cast) -> dict[str, tuple[str, str, dict]]:
    h = cast.household.pk
    inv = invitations.invitation_create(
        household=cast.household, actor=cast.alice, email="zed@example.org", role=Role.VIEWER
    )
    return {
        "detail": ("get", f"/households/{h}/", {}),
        "rename": ("post", f"/households/{h}/rename/", {"name": "Renamed"}),
        "invite": (
            "post",
            f"/households/{h}/invitations/",
            {"email": "new@example.org", "role": "viewer"},
        ),
        "revoke": ("post", f"/households/{h}/invitations/{inv.pk}/revoke/", {}),
        "role": ("post", f"/households/{h}/members/{cast.carol.pk}/role/", {"role": "caretaker"}),
        "remove": ("post", f"/households/{h}/members/{cast.carol.pk}/remove/", {}),
        "transfer": ("post", f"/households/{h}/members/{cast.bob.pk}/transfer/", {}),
        "api_members": ("get", f"/api/v1/households/{h}/members", {}),
    }


# expected status per role: owner, caretaker, viewer, stranger, anonymous (a role too low is
# a 403 from the access rule, as in the API; a refused but allowed request is a 302 back)
TABLE = {
    "detail": [200, 200, 200, 404, 302],
    "rename": [302, 403, 403, 404, 302],
    "invite": [302, 403, 403, 404, 302],
    "revoke": [302, 403, 403, 404, 302],
    "role": [302, 403, 403, 404, 302],
    "remove": [302, 403, 403, 404, 302],
    "transfer": [302, 403, 403, 404, 302],
    "api_members": [200, 200, 200, 404, 401],
}

# What actually changed, per role: only the owner's requests take effect.
EFFECT = {
    "rename": lambda cast: Household.objects.get(pk=cast.household.pk).name == "Renamed",
    "invite": lambda cast: Invitation.objects.filter(email="new@example.org").exists(),
    "revoke": lambda cast: Invitation.objects.filter(
        email="zed@example.org", status=InvitationStatus.REVOKED
    ).exists(),
    "role": lambda cast: role_of(cast.carol, cast.household) == Role.CARETAKER,
    "remove": lambda cast: role_of(cast.carol, cast.household) is None,
    "transfer": lambda cast: role_of(cast.bob, cast.household) == Role.OWNER,
}


@pytest.mark.parametrize("endpoint", list(TABLE))
@pytest.mark.parametrize(
    "who", range(len(ROLES)), ids=["owner", "caretaker", "viewer", "stranger", "anonymous"]
)
def test_household_access_table(cast: Cast, endpoint: str, who: int) -> None:
    method, url, data = _urls(cast)[endpoint]
    client = cast.client_for(ROLES[who])
    response = getattr(client, method)(url, data)
    assert response.status_code == TABLE[endpoint][who]
    if endpoint in EFFECT:
        assert EFFECT[endpoint](cast) is (who == 0)
    if ROLES[who] == "charlie":
        assert escape(cast.household.name) not in response.content.decode()


def test_last_member_leaving_deletes_the_pets_files(
    cast: Cast, settings, django_capture_on_commit_callbacks
) -> None:
    import io

    from PIL import Image

    from pawfile.pets.models import Pet
    from pawfile.pets.photos import photo_add

    lone = Household.objects.get(memberships__user=cast.charlie)
    pet = Pet.objects.create(household=lone, name="Tom", species="cat")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "orange").save(buffer, "JPEG")
    buffer.seek(0)
    photo_add(actor=cast.charlie, pet=pet, upload=buffer)
    media = settings.MEDIA_ROOT
    assert any(p.is_file() for p in media.rglob("*"))
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_leave(household=lone, user=cast.charlie)
    assert not Pet.objects.filter(pk=pet.pk).exists()
    assert not any(p.is_file() for p in media.rglob("*"))
