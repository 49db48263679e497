"""Background tasks for accounts. Thin: they take ids and call a service."""

from __future__ import annotations

from pawfile.accounts import services
from pawfile.lib.tasks import task


@task(retries=5, retry_delay=30)
def invitation_email_send(invitation_id: int, language: str) -> bool:
    """Email the invitation link (retried when the mail server is unreachable)."""
    return services.invitation_email_send(invitation_id=invitation_id, language=language)
