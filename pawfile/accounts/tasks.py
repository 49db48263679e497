"""Background tasks for accounts. Thin: they take ids and call a service."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives

from pawfile.accounts import services
from pawfile.lib.tasks import task


@task(retries=5, retry_delay=30)
def invitation_email_send(invitation_id: int, language: str) -> bool:
    """Email the invitation link (retried when the mail server is unreachable)."""
    return services.invitation_email_send(invitation_id=invitation_id, language=language)


@task(retries=5, retry_delay=30)
def email_send(subject: str, body: str, from_email: str, to: list[str], html: str | None) -> None:
    """Send one rendered account email (verification, password reset, notices)."""
    message = EmailMultiAlternatives(subject, body, from_email, to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
