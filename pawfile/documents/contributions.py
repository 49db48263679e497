"""What the documents app adds to the shared features (``pawfile.lib.registry``).

Called once from ``DocumentsConfig.ready``: the "Health report (PDF)" button among the
actions of the pet page.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from pawfile.lib import registry

APP = "documents"


def _no_context(request: HttpRequest, pet: Any) -> dict[str, Any]:
    return {}


def register() -> None:
    registry.register_pet_panel(
        app=APP,
        name="report",
        template="documents/_pet_report_action.html",
        context=_no_context,
        slot="actions",
        order=50,
    )
