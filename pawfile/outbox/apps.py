from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    """Side effects as rows first: mail now, push, messages, webhooks and payments later.

    A delivery channel plugs in with ``handlers.register_handler(kind, deliver)`` from its
    own app's ``ready``; the outbox imports no app above it.
    """

    name = "pawfile.outbox"
    label = "outbox"
    verbose_name = _("Outbox")

    def ready(self) -> None:
        from pawfile.outbox import mail
        from pawfile.outbox.handlers import register_handler
        from pawfile.outbox.metrics import collector_register

        register_handler(mail.EMAIL, mail.email_deliver, keep_when_sent=mail.KEEP_WHEN_SENT)
        register_handler(mail.NO_MAIL, mail.no_mail_deliver)
        collector_register()
