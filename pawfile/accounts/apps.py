from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "pawfile.accounts"
    label = "accounts"
    verbose_name = _("Accounts and households")

    def ready(self) -> None:
        from pawfile.accounts import contributions

        contributions.register()  # what accounts adds to export, deletion, pages (lib.registry)
