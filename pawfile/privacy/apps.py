from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """The person's own data: the export archive and account deletion.

    It sits above the domain apps and knows none of them: what each app adds to an export or
    removes with an account comes from ``pawfile.lib.registry``.
    """

    name = "pawfile.privacy"
    label = "privacy"
    verbose_name = _("Your data")

    def ready(self) -> None:
        from pawfile.privacy import contributions

        contributions.register()  # what privacy adds to export, deletion, pages (lib.registry)
