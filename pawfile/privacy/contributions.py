"""What the privacy app adds to the shared features (``pawfile.lib.registry``).

Called once from ``PrivacyConfig.ready``: the archives of a deleted account's data exports
are removed after the deletion commits (their rows go by cascade with the user).
"""

from __future__ import annotations

from pawfile.accounts.models import User
from pawfile.lib import registry
from pawfile.privacy.models import DataExport

APP = "privacy"


def account_files(user: User) -> list[str]:
    """The stored export archives of ``user``."""
    names = DataExport.objects.filter(user=user).values_list("file_name", flat=True)
    return [name for name in names if name]


def register() -> None:
    registry.register_deletion(app=APP, account=account_files)
