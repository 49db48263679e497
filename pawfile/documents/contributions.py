"""What the documents app adds to the shared features (``pawfile.lib.registry``).

Called once from ``DocumentsConfig.ready``: the "Health report (PDF)" and lost poster buttons
among the actions of the pet page, the wallet card (Apple / Google Wallet) below the profile
(all kept in the pet page's cache; the wallet card by the server's wallet setup too), and in a
user's export the ids their pets' wallet cards carry (``wallet_passes``). Passes are made on
request and never stored: there is nothing of them to delete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest

from pawfile.lib import registry
from pawfile.lib.registry import ExportSection

APP = "documents"


def _no_context(request: HttpRequest, pet: Any) -> dict[str, Any]:
    return {}


def _wallet_context(request: HttpRequest, pet: Any) -> Mapping[str, Any]:
    """``documents.wallet.views.pet_panel_context`` (loaded when first drawn)."""
    from pawfile.documents.wallet import views

    return views.pet_panel_context(request, pet)


def _poster_context(request: HttpRequest, pet: Any) -> Mapping[str, Any]:
    """``documents.poster_views.poster_action_context`` (loaded when first drawn)."""
    from pawfile.documents import poster_views

    return poster_views.poster_action_context(request, pet)


def _wallet_setup() -> str:
    """What the wallet card follows beyond the pet: each wallet ready, broken or unset, and
    why (the server's settings and key files; no query). Part of the pet page's cache key."""
    from pawfile.documents.wallet.status import wallet_states

    return ";".join(
        f"{name}:{state.ready}:{state.broken}:{state.message}"
        for name, state in wallet_states().items()
    )


def wallet_export_rows(user: Any) -> ExportSection:
    """``documents.wallet.data.wallet_export_rows`` (loaded when an export is built)."""
    from pawfile.documents.wallet.data import wallet_export_rows as rows

    return rows(user)


def register() -> None:
    registry.register_export_section(app=APP, rows=wallet_export_rows)
    registry.register_pet_panel(
        app=APP,
        name="poster",
        template="documents/_pet_poster_action.html",
        context=_poster_context,
        slot="actions",
        order=45,
        cacheable=True,  # lost mode: every change of it bumps the pet's revision (lostpet)
    )
    registry.register_pet_panel(
        app=APP,
        name="report",
        template="documents/_pet_report_action.html",
        context=_no_context,
        slot="actions",
        order=50,
        cacheable=True,
    )
    registry.register_pet_panel(
        app=APP,
        name="wallet",
        template="documents/_pet_wallet_panel.html",
        context=_wallet_context,
        slot="main",
        order=80,
        cacheable=True,
        vary=_wallet_setup,
    )
