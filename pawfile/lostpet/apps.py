from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LostpetConfig(AppConfig):
    name = "pawfile.lostpet"
    label = "lostpet"
    verbose_name = _("Lost pets")

    def ready(self) -> None:
        from pawfile.lostpet import contributions

        # export, deletion, the pet page's panel (lib.registry); where a tag leads
        # (qr.petpage); the scan alert of lost mode (qr.hooks)
        contributions.register()
