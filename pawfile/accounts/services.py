"""Writes for users, households, memberships and grants (invitations: ``invitations.py``).

Every function takes keyword arguments and checks through ``pawfile.accounts.access`` that
the acting user may do what is asked: ``NotFound`` when the actor may not see the household
at all, ``Forbidden`` when their role does not allow it. A request that makes no sense raises
``Invalid`` (with the field) or ``Conflict`` (the state does not allow it), each with a
message a person can read. Views, the API, the admin and the CLI all call these; none of them
write these models directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from pawfile.accounts.access import GRANTABLE, Access, Action, household_access
from pawfile.accounts.choices import Role
from pawfile.accounts.models import Grant, Household, Membership, User
from pawfile.lib import registry
from pawfile.lib.errors import Conflict, Invalid, NotFound
from pawfile.lib.storage import files_delete_on_commit
from pawfile.lib.text import plain_line, plain_lines


def household_manage_access(*, household: Household, actor: User) -> Access:
    """The actor's access if they may manage ``household`` (the owner); ``NotFound`` /
    ``Forbidden`` otherwise."""
    return household_access(user=actor, household_id=household.pk, action=Action.MANAGE)


def user_create(
    *,
    email: str,
    password: str | None,
    name: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    household_name: str | None = None,
) -> User:
    """Create a user with their own household (named after them unless given); ``Invalid``
    for a name that is not one line of plain text."""
    plain_line(name, field="name")
    with transaction.atomic():
        user = User.objects.create_user(
            email=email, password=password, name=name, is_staff=is_staff, is_superuser=is_superuser
        )
        household_create(owner=user, name=household_name)
    return user


def admin_create(*, email: str, password: str, name: str = "") -> User:
    """Create an instance administrator (staff and superuser) with a verified email address
    and a household of their own; the one way to make an admin (first-admin page, CLI).

    Raises ``Invalid`` (field ``email``) for something that is not an email address,
    ``Conflict`` when an account with that email exists, and ``Invalid`` (field
    ``password``) for a password the password validators refuse. Returns the new user.
    """
    from allauth.account.models import EmailAddress
    from django.contrib.auth import password_validation
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(_("Enter a valid email address."), field="email") from None
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(_("An account with this email already exists."), field="email")
    try:
        password_validation.validate_password(password, User(email=email, name=name))
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), fields={"password": exc.messages}) from None
    with transaction.atomic():
        user = user_create(
            email=email, password=password, name=name, is_staff=True, is_superuser=True
        )
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


def user_preferences_update(
    *,
    user: User,
    name: str | None = None,
    phone: str | None = None,
    timezone: str | None = None,
    locale: str | None = None,
    theme: str | None = None,
) -> User:
    """Save the preferences given on ``user`` (``None`` leaves one as it is); returns ``user``.

    Raises ``Invalid`` (with the fields) for a time zone that is not an IANA name, a language
    or theme that is not offered, or a name or phone that is too long; nothing is changed
    then, on the row or on ``user``.
    """
    from django.core.exceptions import ValidationError

    given = {"name": name, "phone": phone, "timezone": timezone, "locale": locale, "theme": theme}
    changes = {field: value for field, value in given.items() if value is not None}
    plain_lines(changes, ("name", "phone"))
    errors: dict[str, list[str]] = {}
    for field, value in changes.items():
        try:
            changes[field] = User._meta.get_field(field).clean(value, user)  # type: ignore[union-attr]
        except ValidationError as exc:
            errors[field] = list(exc.messages)
    if errors:
        raise Invalid(fields=errors)
    for field, value in changes.items():
        setattr(user, field, value)
    if changes:
        user.save(update_fields=list(changes))
    return user


def household_default_name(user: User) -> str:
    who = user.name or user.email.split("@", 1)[0]
    return _("%(name)s's household") % {"name": who}


def household_create(*, owner: User, name: str | None = None) -> Household:
    """Create a household with ``owner`` as its only member and owner; ``Invalid`` for a
    name that is not one line of plain text."""
    if name:
        plain_line(name, field="name")
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
    """Delete a household with everything in it; stored files go after commit.

    Every app that keeps something of a household (pets, and through them health...) clears
    it and names its files through the registry (``registry.deletion_files``), so accounts
    knows none of them. No permission check: callers decide (the last member leaving, an
    account deletion).
    """
    with transaction.atomic():
        names = registry.deletion_files("household", household)
        household.delete()
        files_delete_on_commit(names)


def household_rename(*, household: Household, actor: User, name: str) -> Household:
    """Rename ``household`` (owner only); ``Invalid`` for an empty name or one that is not
    one line of plain text."""
    household_manage_access(household=household, actor=actor)
    return household_name_set(household=household, name=name)


def household_name_set(*, household: Household, name: str) -> Household:
    """Give ``household`` the name ``name`` (``Invalid`` for an empty one or one that is not
    one line of plain text). No permission check: the owner's rename and the instance
    admin call it."""
    name = plain_line(name, field="name").strip()
    if not name:
        raise Invalid(_("A household needs a name."), field="name")
    household.name = name[:120]
    household.save(update_fields=["name"])
    return household


# --- Members -------------------------------------------------------------------------------


def _target_membership(*, household: Household, member: User) -> Membership:
    membership = household.memberships.filter(user=member).first()
    if membership is None:
        raise NotFound(_("Not found."))
    return membership


def membership_set_role(
    *, household: Household, actor: User, member: User, role: str
) -> Membership:
    """Change a member's role to caretaker or viewer (owner only; ownership moves by transfer
    only): ``Invalid`` for another role, ``Conflict`` for the owner's own role."""
    household_manage_access(household=household, actor=actor)
    if role not in (Role.CARETAKER, Role.VIEWER):
        raise Invalid(_("Choose caretaker or viewer; ownership is transferred."), field="role")
    membership = _target_membership(household=household, member=member)
    if membership.role == Role.OWNER:
        raise Conflict(_("Transfer ownership before changing your own role."))
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def membership_remove(*, household: Household, actor: User, member: User) -> None:
    """The owner removes someone else from the household (``Conflict`` for the owner)."""
    household_manage_access(household=household, actor=actor)
    membership = _target_membership(household=household, member=member)
    if membership.role == Role.OWNER:
        raise Conflict(_("The owner cannot be removed; transfer ownership first."))
    membership.delete()


def membership_leave(*, household: Household, user: User) -> None:
    """A member leaves (``NotFound`` for anyone else). The owner must transfer ownership
    first (``Conflict``) unless they are alone, in which case the household is deleted with
    them leaving it."""
    access = household_access(user=user, household_id=household.pk, action=Action.VIEW)
    if access.role is None:  # a grant is not a membership: there is nothing to leave
        raise NotFound(_("Not found."))
    if access.role == Role.OWNER:
        if household.memberships.exclude(user=user).exists():
            raise Conflict(_("Transfer ownership to another member before leaving."))
        household_delete(household=household)
        return
    household.memberships.filter(user=user).delete()


def household_transfer_ownership(*, household: Household, actor: User, new_owner: User) -> None:
    """Make ``new_owner`` (already a member) the owner; the previous owner becomes caretaker.
    Owner only; ``Conflict`` when the owner names themselves."""
    household_manage_access(household=household, actor=actor)
    target = _target_membership(household=household, member=new_owner)
    if target.user_id == actor.pk:
        raise Conflict(_("You already own this household."))
    household_owner_set(membership=target)


def household_owner_set(*, membership: Membership) -> Membership:
    """Make ``membership``'s member the owner of its household; whoever owned it becomes a
    caretaker. No permission check: the owner's transfer and the instance admin (an owner
    who lost their account) call it. Returns the membership, now the owner's."""
    with transaction.atomic():
        # Demote first: the one-owner constraint holds at every statement.
        Membership.objects.filter(household_id=membership.household_id, role=Role.OWNER).exclude(
            pk=membership.pk
        ).update(role=Role.CARETAKER)
        Membership.objects.filter(pk=membership.pk).update(role=Role.OWNER)
    membership.role = Role.OWNER
    return membership


def user_active_set(*, user: User, active: bool) -> User:
    """Let ``user`` sign in again (``active``) or not; turning an account off also ends its
    sessions and API tokens at once (``user_sessions_end``). For the instance admin."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=active)
        user.is_active = active
        if not active:
            user_sessions_end(user=user)
    return user


# --- Grants --------------------------------------------------------------------------------


def grant_create(
    *,
    user: User,
    household: Household,
    actions: Iterable[str],
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    source: str,
    pet_id: int | None = None,
) -> Grant:
    """Give ``user`` the ``actions`` on ``household`` (only on its pet ``pet_id`` if given)
    from ``starts_at`` until ``ends_at``, because of ``source`` (``"booking:123"``).

    No permission check: the app that owns the reason decides (a confirmed booking). Raises
    ``Invalid`` for actions a grant cannot carry (delete a pet, manage), a period that ends
    before it starts, or a missing source. A ``pet_id`` that is not in ``household`` opens
    nothing: the pet gate matches a grant's household and pet together."""
    wanted = set(actions)
    errors: dict[str, list[str]] = {}
    if not wanted or not wanted <= {str(a) for a in GRANTABLE}:
        errors["actions"] = [_("A grant gives seeing the summary, seeing or writing; no more.")]
    if ends_at <= starts_at:
        errors["ends_at"] = [_("The end must be after the start.")]
    if not source.strip():
        errors["source"] = [_("Say what gives this access.")]
    if errors:
        raise Invalid(fields=errors)
    return Grant.objects.create(
        user=user,
        household=household,
        pet_id=pet_id,
        actions=",".join(sorted(wanted)),
        starts_at=starts_at,
        ends_at=ends_at,
        source=source.strip()[:100],
    )


def grants_end(*, source: str) -> int:
    """End at once every grant given because of ``source`` (a cancelled booking): they are
    deleted. Returns how many there were."""
    deleted, _by_model = Grant.objects.filter(source=source).delete()
    return deleted


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
