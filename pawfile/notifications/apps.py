from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "pawfile.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from pawfile.notifications import channels, contributions

        channels.channels_load()  # one module per channel; each registers its outbox kind
        contributions.register()  # export, deletion (lib.registry)
