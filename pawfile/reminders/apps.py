from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "pawfile.reminders"
    label = "reminders"
    verbose_name = _("Reminders")

    def ready(self) -> None:
        from pawfile.reminders import contributions

        # export, deletion, the pet page's panel (lib.registry); the health records' hook
        contributions.register()
        from pawfile.reminders import calendar

        calendar.register()  # reminders in the calendar feed (notifications.calendar)
        from pawfile.reminders import whatsapp_actions

        whatsapp_actions.register()  # the Done / Snooze 1 h buttons (notifications.actions)
