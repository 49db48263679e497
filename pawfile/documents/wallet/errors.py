"""Why a wallet pass cannot be made: settings missing, or set but unusable.

Both are ``ServiceError``s answering 409, like a ``Conflict`` (the site's state does not allow
it now; a 5xx would read as a crash to monitors and API clients): the API gives its error
body, the web views a page that says what to set.
"""

from __future__ import annotations

from pawfile.lib.errors import ServiceError


class WalletUnavailable(ServiceError):
    """Base: ``message`` is for a person (translated), naming the settings concerned."""

    status = 409
    code = "wallet_unavailable"

    def __init__(self, message: str, *, settings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.settings = settings


class WalletNotConfigured(WalletUnavailable):
    """Some settings the wallet needs are empty (``settings`` lists them)."""

    code = "wallet_not_configured"


class WalletConfigBroken(WalletUnavailable):
    """Every setting is there but one cannot be used (unreadable file, wrong key...).

    ``message`` says which setting and what is wrong, without file contents or paths; the
    full detail is logged."""

    code = "wallet_config_broken"
    detail = ""  # for the log only
