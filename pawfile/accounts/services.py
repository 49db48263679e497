"""Writes for users, households, memberships and invitations.

Every function takes keyword arguments, checks that the acting user may do what is asked, and
raises ``HouseholdError`` (a message a person can read) when the request makes no sense, or
``Http404`` when the actor may not see the household at all. Views, the API, the admin and the
CLI all call these; none of them write these models directly.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pawfile.accounts.choices import InvitationStatus, Role
from pawfile.accounts.models import Household, Invitation, Membership, User
from pawfile.accounts.selectors import membership_for
from pawfile.lib.storage import files_delete_on_commit
from pawfile.lib.tasks import enqueue_on_commit

INVITATION_SALT = "pawfile.accounts.invitation"


class HouseholdError(Exception):
    """A household change that cannot be made; ``str(error)`` is shown to the person."""


def _require_owner(*, household: Household, actor: User) -> Membership:
    membership = membership_for(user=actor, household=household)
    if membership is None:
        raise Http404
    if membership.role != Role.OWNER:
        raise HouseholdError(_("Only the household owner can do that."))
    return membership


def user_create(
    *,
    email: str,
    password: str | None,
    name: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    household_name: str | None = None,
) -> User:
    """Create a user with their own household (named after them unless given)."""
    with transaction.atomic():
        user = User.objects.create_user(
            email=email, password=password, name=name, is_staff=is_staff, is_superuser=is_superuser
        )
        household_create(owner=user, name=household_name)
    return user


def household_default_name(user: User) -> str:
    who = user.name or user.email.split("@", 1)[0]
    return _("%(name)s's household") % {"name": who}


def household_create(*, owner: User, name: str | None = None) -> Household:
    """Create a household with ``owner`` as its only member and owner."""
    with transaction.atomic():
        household = Household.objects.create(name=(name or household_default_name(owner))[:120])
        Membership.objects.create(household=household, user=owner, role=Role.OWNER)
    return household


def household_ensure_for_user(*, user: User) -> Household:
    """Return the user's first household, creating one if they have none (e.g. after signup)."""
    membership = user.memberships.select_related("household").first()
    if membership is not None:
        return membership.household
    return household_create(owner=user)


def household_delete(*, household: Household) -> None:
    """Delete a household with its pets and records; their stored files go after commit.

    No permission check: callers decide (the last member leaving, an account deletion).
    """
    from pawfile.pets.models import Pet
    from pawfile.pets.photos import pets_file_names

    with transaction.atomic():
        names = pets_file_names(Pet.objects.filter(household=household))
        household.delete()
        files_delete_on_commit(names)


def household_rename(*, household: Household, actor: User, name: str) -> Household:
    _require_owner(household=household, actor=actor)
    name = name.strip()
    if not name:
        raise HouseholdError(_("A household needs a name."))
    household.name = name[:120]
    household.save(update_fields=["name"])
    return household


# --- Invitations ---------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    """The signed token for an invitation link; it names the invitation and the email."""
    return signing.dumps({"i": invitation.pk, "e": invitation.email}, salt=INVITATION_SALT)


def invitation_from_token(token: str) -> Invitation:
    """The open invitation a token names.

    Raises ``HouseholdError`` if the token is forged, expired, already used or revoked.
    """
    try:
        data = signing.loads(
            token, salt=INVITATION_SALT, max_age=settings.PAWFILE_INVITATION_MAX_AGE
        )
    except signing.SignatureExpired:
        raise HouseholdError(_("This invitation has expired. Ask for a new one.")) from None
    except signing.BadSignature:
        raise HouseholdError(_("This invitation link is not valid.")) from None
    invitation = (
        Invitation.objects.select_related("household", "invited_by")
        .filter(pk=data.get("i"), email=data.get("e"))
        .first()
    )
    if invitation is None or invitation.status == InvitationStatus.REVOKED:
        raise HouseholdError(_("This invitation was withdrawn."))
    if invitation.status == InvitationStatus.ACCEPTED:
        raise HouseholdError(_("This invitation has already been used."))
    if not invitation.is_open:
        raise HouseholdError(_("This invitation has expired. Ask for a new one."))
    return invitation


def invitation_create(*, household: Household, actor: User, email: str, role: str) -> Invitation:
    """Invite ``email`` to ``household`` as ``role`` and send the link after commit.

    Only the owner may invite. Inviting someone already in the household is refused; a
    pending invitation for the same email is replaced by the new one.
    """
    _require_owner(household=household, actor=actor)
    email = User.objects.normalize_email(email.strip()).lower()
    if role not in (Role.CARETAKER, Role.VIEWER):
        raise HouseholdError(_("Invite people as caretaker or viewer; ownership is transferred."))
    if household.memberships.filter(user__email__iexact=email).exists():
        raise HouseholdError(_("%(email)s is already in this household.") % {"email": email})
    with transaction.atomic():
        household.invitations.filter(email=email, status=InvitationStatus.PENDING).update(
            status=InvitationStatus.REVOKED
        )
        invitation = Invitation.objects.create(
            household=household,
            email=email,
            role=role,
            invited_by=actor,
            expires_at=timezone.now() + timedelta(seconds=settings.PAWFILE_INVITATION_MAX_AGE),
        )
        language = translation.get_language() or settings.LANGUAGE_CODE
        from pawfile.accounts.tasks import invitation_email_send

        enqueue_on_commit(invitation_email_send, invitation.pk, language)
    return invitation


def invitation_email_send(*, invitation_id: int, language: str) -> bool:
    """Send the invitation link; returns False when the invitation is no longer open."""
    invitation = (
        Invitation.objects.select_related("household", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not invitation.is_open:
        return False
    link = settings.PAWFILE_BASE_URL + reverse(
        "invitation_accept", kwargs={"token": invitation_token(invitation)}
    )
    with translation.override(language):
        context = {"invitation": invitation, "link": link, "inviter": invitation.invited_by}
        subject = _("%(name)s invites you to %(household)s on Pawfile") % {
            "name": invitation.invited_by or "Pawfile",
            "household": invitation.household.name,
        }
        body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])
    return True


def invitation_revoke(*, invitation: Invitation, actor: User) -> None:
    _require_owner(household=invitation.household, actor=actor)
    if invitation.status == InvitationStatus.PENDING:
        invitation.status = InvitationStatus.REVOKED
        invitation.save(update_fields=["status"])


def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the household named by ``token`` with the invited role.

    The invitation must be addressed to one of the user's verified email addresses, so a
    forwarded link cannot be used by someone else. Raises ``HouseholdError`` otherwise.
    """
    from allauth.account.models import EmailAddress

    with transaction.atomic():
        invitation = invitation_from_token(token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status != InvitationStatus.PENDING:
            raise HouseholdError(_("This invitation has already been used."))
        addresses = EmailAddress.objects.filter(user=user)
        if addresses.exists():
            verified = addresses.filter(email__iexact=invitation.email, verified=True).exists()
        else:  # accounts made by the CLI or an admin carry no address rows
            verified = user.email == invitation.email
        if not verified:
            raise HouseholdError(
                _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
                % {"email": invitation.email}
            )
        membership, created = Membership.objects.get_or_create(
            household=invitation.household, user=user, defaults={"role": invitation.role}
        )
        if not created:
            raise HouseholdError(_("You are already in this household."))
        invitation.status = InvitationStatus.ACCEPTED
        invitation.accepted_by = user
        invitation.save(update_fields=["status", "accepted_by"])
    return membership


# --- Members -------------------------------------------------------------------------------


def _target_membership(*, household: Household, member: User) -> Membership:
    membership = household.memberships.filter(user=member).first()
    if membership is None:
        raise Http404
    return membership


def membership_set_role(
    *, household: Household, actor: User, member: User, role: str
) -> Membership:
    """Change a member's role to caretaker or viewer (ownership moves by transfer only)."""
    _require_owner(household=household, actor=actor)
    if role not in (Role.CARETAKER, Role.VIEWER):
        raise HouseholdError(_("Choose caretaker or viewer; ownership is transferred."))
    membership = _target_membership(household=household, member=member)
    if membership.role == Role.OWNER:
        raise HouseholdError(_("Transfer ownership before changing your own role."))
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def membership_remove(*, household: Household, actor: User, member: User) -> None:
    """The owner removes someone else from the household."""
    _require_owner(household=household, actor=actor)
    membership = _target_membership(household=household, member=member)
    if membership.role == Role.OWNER:
        raise HouseholdError(_("The owner cannot be removed; transfer ownership first."))
    membership.delete()


def membership_leave(*, household: Household, user: User) -> None:
    """A member leaves. The owner must transfer ownership first unless they are alone, in
    which case the household is deleted with them leaving it."""
    membership = membership_for(user=user, household=household)
    if membership is None:
        raise Http404
    if membership.role == Role.OWNER:
        if household.memberships.exclude(pk=membership.pk).exists():
            raise HouseholdError(_("Transfer ownership to another member before leaving."))
        household_delete(household=household)
        return
    membership.delete()


def household_transfer_ownership(*, household: Household, actor: User, new_owner: User) -> None:
    """Make ``new_owner`` (already a member) the owner; the previous owner becomes caretaker."""
    current = _require_owner(household=household, actor=actor)
    target = _target_membership(household=household, member=new_owner)
    if target.pk == current.pk:
        raise HouseholdError(_("You already own this household."))
    with transaction.atomic():
        # Demote first: the one-owner constraint holds at every statement.
        Membership.objects.filter(pk=current.pk).update(role=Role.CARETAKER)
        Membership.objects.filter(pk=target.pk).update(role=Role.OWNER)


def user_sessions_end(*, user: User) -> int:
    """End every web session and API token family of ``user``; returns how many ended.

    Sessions are also invalid once the password hash changes (Django checks it on every
    request, and stateful JWT validation reads the same session), but deleting them frees the
    rows and makes refresh tokens fail at once.
    """
    from allauth.usersessions.models import UserSession

    ended = 0
    for session in UserSession.objects.filter(user=user):
        session.end()
        ended += 1
    return ended
