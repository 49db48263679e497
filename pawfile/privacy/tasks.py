"""Background tasks of the "Your data" pages. Thin: they take ids and call a service."""

from __future__ import annotations

from pawfile.lib.tasks import crontab, periodic_task, task
from pawfile.privacy import deletion, export


@task(retries=5, retry_delay=60)
def data_export_build(export_id: int) -> bool:
    """Build a requested data export and write the email with its link to the outbox.

    A retry of the build never mails twice: the email is written once per export, in the
    same transaction that marks it mailed; the outbox retries the sending itself.
    """
    return export.data_export_build(export_id=export_id)


@periodic_task(crontab(minute="17"))
def data_exports_expire() -> int:
    """Hourly: expire exports past their 48 hours and delete archives left behind."""
    return export.data_exports_expire()


@task(retries=3, retry_delay=60)
def account_sessions_purge(user_id: int) -> int:
    """Remove stored sessions that still name a deleted account."""
    return deletion.user_sessions_purge(user_id=user_id)
