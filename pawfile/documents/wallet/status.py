"""Whether each wallet can make passes now, and if not, what to tell the person."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pawfile.documents.wallet.apple import apple_signer
from pawfile.documents.wallet.errors import WalletConfigBroken, WalletUnavailable
from pawfile.documents.wallet.google import google_signer


@dataclass(frozen=True)
class WalletState:
    """``ready``, or ``message`` says why not; ``broken``: set but unusable (not just unset)."""

    ready: bool
    message: str = ""
    broken: bool = False


def _state(check: Callable[[], object]) -> WalletState:
    try:
        check()
    except WalletUnavailable as exc:
        return WalletState(
            ready=False, message=exc.message, broken=isinstance(exc, WalletConfigBroken)
        )
    return WalletState(ready=True)


def wallet_states() -> dict[str, WalletState]:
    """``{"apple": ..., "google": ...}``: loads (and checks) the keys the settings name; a
    broken configuration is logged by the loader."""
    return {"apple": _state(apple_signer), "google": _state(google_signer)}
