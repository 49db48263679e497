"""Background tasks for accounts. Thin: they take ids and call a service."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives, send_mail
from huey import crontab

from pawfile.accounts import deletion, export, services
from pawfile.lib.tasks import periodic_task, task


@task(retries=5, retry_delay=30)
def invitation_email_send(invitation_id: int, language: str) -> bool:
    """Email the invitation link (retried when the mail server is unreachable)."""
    return services.invitation_email_send(invitation_id=invitation_id, language=language)


@task(retries=5, retry_delay=60)
def data_export_build(export_id: int) -> bool:
    """Build a requested data export and email its link (the email is retried on failure)."""
    return export.data_export_build(export_id=export_id)


@periodic_task(crontab(minute="17"))
def data_exports_expire() -> int:
    """Hourly: expire exports past their 48 hours and delete archives left behind."""
    return export.data_exports_expire()


@task(retries=5, retry_delay=60)
def account_deleted_email_send(address: str, subject: str, body: str) -> None:
    """Send the goodbye email of a deleted account.

    The one task that carries content rather than an id: once the account is gone there is
    no row left to point at, so the text is rendered before the deletion and travels here.
    """
    send_mail(subject, body, None, [address])


@task(retries=5, retry_delay=30)
def email_send(subject: str, body: str, from_email: str, to: list[str], html: str | None) -> None:
    """Send one rendered account email (verification, password reset, notices).

    Rendered in the request (language, links), sent here: the request never waits on the
    mail server, so response times do not reveal which addresses have accounts.
    """
    message = EmailMultiAlternatives(subject, body, from_email, to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


@task(retries=3, retry_delay=60)
def account_sessions_purge(user_id: int) -> int:
    """Remove stored sessions that still name a deleted account."""
    return deletion.user_sessions_purge(user_id=user_id)
