"""The ``/api/v1`` API: one NinjaAPI that mounts each app's router."""

from ninja import NinjaAPI

from pawfile.accounts.api import router as accounts_router
from pawfile.health.api import router as health_router
from pawfile.pets.api import router as pets_router
from pawfile.lib.api import BearerAuth, SessionCsrfAuth, install_error_handlers

api = NinjaAPI(
    title="Pawfile API",
    version="1",
    description="Pets, health records, households. Authenticate with a JWT access token "
    "(see /_allauth/app/v1/auth/login) or the browser session.",
    auth=[BearerAuth(), SessionCsrfAuth()],
    urls_namespace="api",
    docs_url="/docs",
)
install_error_handlers(api)
api.add_router("/", accounts_router)
api.add_router("/", pets_router)
api.add_router("/", health_router)
