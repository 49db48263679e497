"""Invitations to a household: a row, a signed one-time link mailed through the outbox,
accepted only by an account that has the invited address verified.

The same contract as ``pawfile.accounts.services``: keyword arguments, access checked through
``pawfile.accounts.access`` (only the owner invites or withdraws), refusals raised as
``Invalid``, ``Conflict`` or ``TooMany`` with a message a person can read.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pawfile.accounts.choices import InvitationStatus, Role
from pawfile.accounts.models import Household, Invitation, Membership, User
from pawfile.accounts.services import household_manage_access
from pawfile.lib.errors import Conflict, Invalid, TooMany
from pawfile.outbox.mail import mail_enqueue
from pawfile.outbox.models import OutboxMessage

INVITATION_SALT = "pawfile.accounts.invitation"


def invitation_token(invitation: Invitation) -> str:
    """The signed token for an invitation link; it names the invitation and the email."""
    return signing.dumps({"i": invitation.pk, "e": invitation.email}, salt=INVITATION_SALT)


def invitation_from_token(token: str) -> Invitation:
    """The open invitation a token names.

    Raises ``Invalid`` (``token``) if the token is forged, ``Conflict`` if it expired, was
    used or withdrawn.
    """
    try:
        data = signing.loads(
            token, salt=INVITATION_SALT, max_age=settings.PAWFILE_INVITATION_MAX_AGE
        )
    except signing.SignatureExpired:
        raise _expired() from None
    except signing.BadSignature:
        message = _("This invitation link is not valid.")
        raise Invalid(message, code="invitation_invalid", field="token") from None
    invitation = (
        Invitation.objects.select_related("household", "invited_by")
        .filter(pk=data.get("i"), email=data.get("e"))
        .first()
    )
    if invitation is None or invitation.status == InvitationStatus.REVOKED:
        raise Conflict(_("This invitation was withdrawn."), code="invitation_withdrawn")
    if invitation.status == InvitationStatus.ACCEPTED:
        raise _used()
    if not invitation.is_open:
        raise _expired()
    return invitation


def _expired() -> Conflict:
    return Conflict(_("This invitation has expired. Ask for a new one."), code="invitation_expired")


def _used() -> Conflict:
    return Conflict(_("This invitation has already been used."), code="invitation_used")


def invitation_create(*, household: Household, actor: User, email: str, role: str) -> Invitation:
    """Invite ``email`` to ``household`` as ``role`` and send the link after commit.

    Only the owner may invite (``Forbidden``). A role other than caretaker or viewer is
    ``Invalid``; inviting someone already in the household is a ``Conflict``; a pending
    invitation for the same email is replaced by the new one. Invitations are mail to any
    address, so they are rationed (see ``_invitation_allowance``): ``TooMany`` past the
    day's allowance of the household or of the sender, ``Conflict`` when the household has
    as many pending invitations as it may.
    """
    household_manage_access(household=household, actor=actor)
    email = User.objects.normalize_email(email.strip()).lower()
    if role not in (Role.CARETAKER, Role.VIEWER):
        message = _("Invite people as caretaker or viewer; ownership is transferred.")
        raise Invalid(message, field="role")
    if household.memberships.filter(user__email__iexact=email).exists():
        message = _("%(email)s is already in this household.") % {"email": email}
        raise Conflict(message, code="already_member")
    with transaction.atomic():
        _invitation_allowance(household=household, actor=actor, email=email)
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
        invitation_email_enqueue(invitation=invitation, language=language)
    return invitation


def _invitation_allowance(*, household: Household, actor: User, email: str) -> None:
    """Refuse an invitation past the limits, counted in the database (every node agrees).

    Every invitation made in the last 24 hours counts, withdrawn or not (each one sent a
    mail): ``PAWFILE_INVITATIONS_PER_DAY`` for the household, and
    ``PAWFILE_INVITATIONS_PER_SENDER_PER_DAY`` for the actor across households (``TooMany``).
    ``PAWFILE_INVITATIONS_PENDING_MAX`` pending ones at most, not counting the one to
    ``email`` that this invitation replaces (``Conflict``). The household row is locked
    first so that two requests at once cannot both take the last place (on SQLite the
    write transaction already serialises them).
    """
    Household.objects.select_for_update().filter(pk=household.pk).exists()
    since = timezone.now() - timedelta(days=1)
    recent = Invitation.objects.filter(created_at__gte=since)
    if recent.filter(household=household).count() >= settings.PAWFILE_INVITATIONS_PER_DAY:
        message = _("This household has sent %(n)d invitations today, the most allowed.") % {
            "n": settings.PAWFILE_INVITATIONS_PER_DAY
        }
        raise TooMany(message + " " + _("Try again tomorrow."), code="invitations_per_day")
    per_sender = settings.PAWFILE_INVITATIONS_PER_SENDER_PER_DAY
    if recent.filter(invited_by=actor).count() >= per_sender:
        message = _("You have sent %(n)d invitations today, the most allowed.") % {"n": per_sender}
        raise TooMany(message + " " + _("Try again tomorrow."), code="invitations_per_day")
    pending = household.invitations.filter(status=InvitationStatus.PENDING).exclude(email=email)
    if pending.count() >= settings.PAWFILE_INVITATIONS_PENDING_MAX:
        message = _(
            "This household has %(n)d invitations waiting for an answer, the most allowed. "
            "Withdraw one to send another."
        ) % {"n": settings.PAWFILE_INVITATIONS_PENDING_MAX}
        raise Conflict(message, code="invitations_pending")


def _inviter_address(inviter: User | None) -> str:
    """The inviter's email address when it is verified (or the account has no address rows:
    made by an administrator or the command line), else ``""``: the one thing of the inviter
    the mail names, since a name is whatever they typed."""
    from allauth.account.models import EmailAddress

    if inviter is None:
        return ""
    addresses = EmailAddress.objects.filter(user=inviter)
    if (
        not addresses.exists()
        or addresses.filter(email__iexact=inviter.email, verified=True).exists()
    ):
        return inviter.email
    return ""


def invitation_email_enqueue(*, invitation: Invitation, language: str) -> OutboxMessage:
    """Render the invitation mail in ``language`` and write it to the outbox, in the caller's
    transaction (so the mail exists exactly when the invitation does); sent after commit.

    Rendered now rather than when sent: the outbox stays free of account code, and the mail
    leaves within moments. An invitation withdrawn before its mail leaves still gets the
    mail; its link then says the invitation was withdrawn. Returns the outbox row.

    Nothing the inviter typed is in the mail: not the household's name (it could read
    "URGENT: verify your bank at https://..."), nor theirs. The subject names the site; the
    text names the site, the inviter's verified address and the role, and the household's
    name is shown on the invitation page behind the link, escaped like any page text.
    """
    link = settings.PAWFILE_BASE_URL + reverse(
        "invitation_accept", kwargs={"token": invitation_token(invitation)}
    )
    with translation.override(language):
        context = {
            "invitation": invitation,
            "link": link,
            "inviter_email": _inviter_address(invitation.invited_by),
            "site_name": settings.PAWFILE_SITE_NAME,
        }
        subject = _("You are invited to a household on %(site)s") % {
            "site": settings.PAWFILE_SITE_NAME
        }
        body = render_to_string("accounts/email/invitation.txt", context)
    return mail_enqueue(
        key=f"invitation:{invitation.pk}", to=[invitation.email], subject=subject, body=body
    )


def invitation_revoke(*, invitation: Invitation, actor: User) -> None:
    """Withdraw a pending invitation (owner only); one already used or withdrawn stays."""
    household_manage_access(household=invitation.household, actor=actor)
    invitation_withdraw(invitation=invitation)


def invitation_withdraw(*, invitation: Invitation) -> bool:
    """Withdraw ``invitation`` if it is still pending (its link then says so); returns
    whether it was. No permission check: the owner's revoke and the instance admin call it."""
    if invitation.status != InvitationStatus.PENDING:
        return False
    invitation.status = InvitationStatus.REVOKED
    invitation.save(update_fields=["status"])
    return True


def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the household named by ``token`` with the invited role.

    The invitation must be addressed to one of the user's verified email addresses, so a
    forwarded link cannot be used by someone else. Raises what ``invitation_from_token``
    raises, and ``Conflict`` for another address or someone already in the household.
    """
    from allauth.account.models import EmailAddress

    with transaction.atomic():
        invitation = invitation_from_token(token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status != InvitationStatus.PENDING:
            raise _used()
        addresses = EmailAddress.objects.filter(user=user)
        if addresses.exists():
            verified = addresses.filter(email__iexact=invitation.email, verified=True).exists()
        else:  # accounts made by the CLI or an admin carry no address rows
            verified = user.email == invitation.email
        if not verified:
            raise Conflict(
                _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
                % {"email": invitation.email},
                code="invitation_other_address",
            )
        membership, created = Membership.objects.get_or_create(
            household=invitation.household, user=user, defaults={"role": invitation.role}
        )
        if not created:
            raise Conflict(_("You are already in this household."), code="already_member")
        invitation.status = InvitationStatus.ACCEPTED
        invitation.accepted_by = user
        invitation.save(update_fields=["status", "accepted_by"])
    return membership
