from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LostpetConfig(AppConfig):
    name = "pawfile.lostpet"
    label = "lostpet"
    verbose_name = _("Lost pets")
