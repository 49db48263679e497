"""The "PDF report" entry of the WhatsApp menu (``notifications.actions``), registered from
``DocumentsConfig.ready``: the pet's health report, as for a download on the site (same
access rule, same cache), in the person's language."""

from __future__ import annotations

from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pawfile.documents.report import report_get
from pawfile.notifications import actions


def build(user: Any, pet_id: int) -> actions.Attachment:
    """The report PDF of ``pet_id`` for ``user``; ``Http404`` when they may not see it."""
    report = report_get(user=user, pet_id=pet_id, lang=user.locale or None)
    name = slugify(report.pet.name) or "pet"
    return actions.Attachment(
        content=report.pdf,
        mime="application/pdf",
        filename=f"{name}-health-report.pdf",
        media="document",
        caption=_("Health report of %(pet)s") % {"pet": report.pet.name},
    )


def register() -> None:
    actions.menu_item_register("report", label=gettext_lazy("PDF report"), build=build)
