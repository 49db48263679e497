from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "pawfile.documents"
    label = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        from pawfile.documents import contributions

        contributions.register()  # what documents adds to export, deletion, pages (lib.registry)
        from pawfile.documents import whatsapp_actions

        whatsapp_actions.register()  # "PDF report" in the WhatsApp menu
