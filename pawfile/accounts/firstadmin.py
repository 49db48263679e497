"""The one-time link that lets the first visitor of a fresh install create the admin.

The token is signed with the secret key and valid for 24 hours, and only while the instance
has no superuser: once the admin exists, every such link is dead.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from pawfile.accounts.models import User

SALT = "pawfile.accounts.first-admin"
MAX_AGE = 24 * 3600


def admin_exists() -> bool:
    return User.objects.filter(is_superuser=True).exists()


def setup_link() -> str | None:
    """A fresh setup URL, or ``None`` when an admin already exists."""
    if admin_exists():
        return None
    token = signing.TimestampSigner(salt=SALT).sign("first-admin")
    return settings.PAWFILE_BASE_URL + reverse("first_admin", kwargs={"token": token})


def setup_token_valid(token: str) -> bool:
    if admin_exists():
        return False
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=MAX_AGE)
    except signing.BadSignature:
        return False
    return value == "first-admin"
