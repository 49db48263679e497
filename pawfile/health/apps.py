from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthConfig(AppConfig):
    name = "pawfile.health"
    label = "health"
    verbose_name = _("Health records")

    def ready(self) -> None:
        from pawfile.health import contributions

        contributions.register()  # what health adds to export, deletion, pages (lib.registry)
