from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PetsConfig(AppConfig):
    name = "pawfile.pets"
    label = "pets"
    verbose_name = _("Pets")

    def ready(self) -> None:
        from pawfile.pets import contributions

        contributions.register()  # what pets adds to export, deletion, pages (lib.registry)
