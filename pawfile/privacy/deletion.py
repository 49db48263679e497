"""Deleting an account, and what happens to each household the person belongs to.

For every household of the leaving user:

* they are the only member: the household goes with everything in it
  (``accounts.services.household_delete``: every app named in the registry clears its part
  and names its stored files, which are removed after commit);
* they own it and others remain: ownership passes to the longest-standing caretaker, else
  the longest-standing viewer (the same demote-then-promote steps as
  ``services.household_transfer_ownership``), then their membership goes;
* they are a caretaker or viewer: their membership goes.

What they wrote in households that live on (notes, records, photos, attachments, invitations)
stays, with the author set to NULL. Their sessions and API tokens end (untracked leftover
sessions are swept after commit by ``user_sessions_purge``); their email addresses,
connected social accounts and two-factor authenticators go, and every app clears what it
keeps of the person (``registry.deletion_files("account", user)``: the data export
archives...); then the user row. A goodbye email, rendered beforehand, is sent once the
deletion has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pawfile.accounts import services
from pawfile.accounts.choices import Role
from pawfile.accounts.models import Household, Membership, User
from pawfile.accounts.tokens import DATABASE_SESSION_ENGINES
from pawfile.lib import registry
from pawfile.lib.storage import files_delete_on_commit
from pawfile.lib.tasks import enqueue_on_commit
from pawfile.outbox.mail import mail_enqueue


class Outcome(StrEnum):
    DELETE = "delete"  # the household and everything in it goes
    TRANSFER = "transfer"  # ownership passes on, then the user leaves
    LEAVE = "leave"  # the user leaves; nothing else changes


@dataclass(frozen=True)
class HouseholdFate:
    """What deleting the account does to one household."""

    household: Household
    role: str
    outcome: Outcome
    successor: User | None
    pet_count: int


# Who inherits a household: caretakers before viewers, the longest-standing first.
SUCCESSION_ORDER = (Role.CARETAKER, Role.VIEWER)


def household_successor(*, household: Household, leaving: User) -> Membership | None:
    """The membership that inherits ``household`` when ``leaving`` (its owner) goes."""
    others = household.memberships.exclude(user=leaving).select_related("user")
    for role in SUCCESSION_ORDER:
        membership = others.filter(role=role).order_by("joined_at", "pk").first()
        if membership is not None:
            return membership
    return None


def account_delete_plan(*, user: User) -> list[HouseholdFate]:
    """What ``account_delete`` would do to each of the user's households (nothing is changed)."""
    fates = []
    memberships = user.memberships.select_related("household").order_by("joined_at", "pk")
    for membership in memberships:
        household = membership.household
        others = household.memberships.exclude(pk=membership.pk).exists()
        successor = None
        if not others:
            outcome = Outcome.DELETE
        elif membership.role == Role.OWNER:
            outcome = Outcome.TRANSFER
            heir = household_successor(household=household, leaving=user)
            successor = heir.user if heir is not None else None
        else:
            outcome = Outcome.LEAVE
        fates.append(
            HouseholdFate(
                household=household,
                role=membership.role,
                outcome=outcome,
                successor=successor,
                pet_count=household.pets.count(),
            )
        )
    return fates


def _ownership_pass(*, household: Household, owner: Membership) -> Membership:
    """Make the successor the owner; the leaving owner is demoted first, exactly as in a
    transfer, so the one-owner constraint holds at every statement."""
    heir = household_successor(household=household, leaving=owner.user)
    assert heir is not None, "only called when other members remain"
    Membership.objects.filter(pk=owner.pk).update(role=Role.CARETAKER)
    Membership.objects.filter(pk=heir.pk).update(role=Role.OWNER)
    return heir


def user_sessions_purge(*, user_id: int) -> int:
    """Delete stored web sessions that still name ``user_id``; returns how many.

    ``services.user_sessions_end`` ends the sessions allauth tracks; sessions opened by
    Django's own ``login`` (the admin, the first-admin page) are not tracked. Once the account
    is gone they sign nobody in, but they still hold the old user id, so they are removed
    too. This reads every live session, so it runs in the background after the deletion.
    """
    from importlib import import_module

    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    if settings.SESSION_ENGINE not in DATABASE_SESSION_ENGINES:
        return 0
    live = Session.objects.filter(expire_date__gt=timezone.now())
    keys = [
        session.session_key
        for session in live.iterator(chunk_size=2000)
        if session.get_decoded().get(SESSION_KEY) == str(user_id)
    ]
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    for key in keys:  # through the engine, so a cached copy goes too
        store.delete(key)
    return len(keys)


def _farewell(user: User, fates: list[HouseholdFate]) -> tuple[str, str]:
    language = user.locale or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        subject = _("Your Pawfile account was deleted")
        body = render_to_string("privacy/email/account_deleted.txt", {"user": user, "fates": fates})
    return subject, body


def account_delete(*, user: User) -> list[HouseholdFate]:
    """Delete ``user``'s account as described in the module docstring; returns what was done.

    Everything happens in one transaction: if any step fails, nothing changes. Files and the
    goodbye email follow after commit.
    """
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount

    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        fates = account_delete_plan(user=user)
        subject, body = _farewell(user, fates)
        address, user_id = user.email, user.pk
        names: list[str] = []
        for fate in fates:
            membership = Membership.objects.get(household=fate.household, user=user)
            if fate.outcome == Outcome.DELETE:
                services.household_delete(household=fate.household)
                continue
            if fate.outcome == Outcome.TRANSFER:
                _ownership_pass(household=fate.household, owner=membership)
            Membership.objects.filter(pk=membership.pk).delete()
        # Every app clears what it keeps of the person (privacy: export archives...).
        names += registry.deletion_files("account", user)
        services.user_sessions_end(user=user)
        SocialAccount.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        EmailAddress.objects.filter(user=user).delete()
        user.delete()
        files_delete_on_commit(names)
        from pawfile.privacy.tasks import account_sessions_purge

        enqueue_on_commit(account_sessions_purge, user_id)
        # Written with the deletion, sent after commit; its text is dropped once sent.
        mail_enqueue(key=f"account-deleted:{user_id}", to=[address], subject=subject, body=body)
    return fates
