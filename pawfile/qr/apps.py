from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QrConfig(AppConfig):
    name = "pawfile.qr"
    label = "qr"
    verbose_name = _("QR codes")

    def ready(self) -> None:
        from pawfile.qr import contributions

        contributions.register()  # codes and scans in the export and deletions (lib.registry)
        from pawfile.qr import whatsapp_actions

        whatsapp_actions.register()  # "QR code" in the WhatsApp menu
