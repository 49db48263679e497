"""What the accounts app adds to the shared features (``pawfile.lib.registry``).

Called once from ``AccountsConfig.ready``: the account's own part of a data export (the
user, sign-in methods without their secrets, memberships, households with their members,
invitations sent) and the "Shared households" card of the landing page.
"""

from __future__ import annotations

from typing import Any

from pawfile.accounts import selectors
from pawfile.accounts.models import Invitation, User
from pawfile.lib import registry
from pawfile.lib.registry import ExportSection

APP = "accounts"

# Fields of each row in the export (docs/export-format.md). No password hash, no secrets.
USER_FIELDS = (
    "id", "email", "name", "phone", "timezone", "locale", "theme", "date_joined", "last_login",
)  # fmt: skip
INVITATION_FIELDS = ("id", "household_id", "email", "role", "status", "created_at", "expires_at")


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def export_rows(user: User) -> ExportSection:
    """The account part of ``user``'s export. Other people appear only as members of a
    shared household (name, email, role)."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount

    households = list(selectors.household_list(user=user).order_by("pk"))
    rows = {
        "user": _row(user, USER_FIELDS),
        "email_addresses": [
            {"email": a.email, "primary": a.primary, "verified": a.verified}
            for a in EmailAddress.objects.filter(user=user).order_by("pk")
        ],
        "connected_accounts": [
            {"provider": a.provider, "uid": a.uid, "date_joined": a.date_joined}
            for a in SocialAccount.objects.filter(user=user).order_by("pk")
        ],
        "two_factor_methods": [
            {"type": a.type, "created_at": a.created_at, "last_used_at": a.last_used_at}
            for a in Authenticator.objects.filter(user=user).order_by("pk")
        ],
        "memberships": [
            {"household_id": m.household_id, "role": m.role, "joined_at": m.joined_at}
            for m in user.memberships.order_by("joined_at", "pk")
        ],
        "households": [
            {
                "id": household.pk,
                "name": household.name,
                "created_at": household.created_at,
                "members": [
                    {
                        "user_id": m.user_id,
                        "name": m.user.name,
                        "email": m.user.email,
                        "role": m.role,
                        "joined_at": m.joined_at,
                    }
                    for m in selectors.member_list(user=user, household=household)
                ],
            }
            for household in households
        ],
        "invitations_sent": [
            _row(i, INVITATION_FIELDS)
            for i in Invitation.objects.filter(invited_by=user).order_by("pk")
        ],
    }
    return ExportSection(rows=rows)


def register() -> None:
    registry.register_export_section(app=APP, rows=export_rows)
    registry.register_landing_card(
        app=APP, name="households", template="accounts/cards/landing.html", order=90
    )
