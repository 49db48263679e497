"""The ``/api/v1`` API: one NinjaAPI that mounts each app's router.

Every operation runs inside two wrappers: rate limits (outermost, so even a 304 or a 401
carries the ``RateLimit-*`` headers) and conditional GETs (ETag / ``If-None-Match``).
"""

from pawfile.accounts.api import router as accounts_router
from pawfile.accounts.apiauth import BearerAuth, SessionCsrfAuth
from pawfile.documents.api import router as documents_router
from pawfile.health.api import router as health_router
from pawfile.lib.api import install_error_handlers, rate_limited, ratelimit_settings_check
from pawfile.lib.etag import conditional_get
from pawfile.lib.openapi import OpenApiOnce
from pawfile.lib.renderer import JSONRenderer
from pawfile.lostpet.api import router as lostpet_router
from pawfile.lostpet.sighting_api import router as sightings_router
from pawfile.notifications.api import router as notifications_router
from pawfile.notifications.apprise_api import router as apprise_router
from pawfile.notifications.devices_api import router as devices_router
from pawfile.notifications.phone_api import router as phone_channels_router
from pawfile.notifications.updates_api import router as pet_updates_router
from pawfile.pets.api import router as pets_router
from pawfile.qr.api import router as qr_router
from pawfile.reminders.api import router as reminders_router

# The OpenAPI document is built once per process (``lib/openapi``).
api = OpenApiOnce(
    title="Pawfile API",
    version="1",
    description=(
        "Pets, health records, households. Authenticate with a JWT access token "
        "(`POST /_allauth/app/v1/auth/login`, then `Authorization: Bearer <access_token>`) "
        "or the browser session (unsafe methods need the `X-CSRFToken` header).\n\n"
        "Lists are paginated by cursor: pass the `next` value of a page as `cursor` to get "
        "the following one; `limit` is 1–100 (default 20). Reads carry a weak `ETag`; send it "
        "back in `If-None-Match` to get 304 when nothing changed. Every response carries "
        "`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; over the limit the "
        "answer is 429 with `Retry-After`. Errors always have the body "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    auth=[BearerAuth(), SessionCsrfAuth()],
    urls_namespace="api",
    docs_url="/docs",
    renderer=JSONRenderer(),
)
ratelimit_settings_check()
install_error_handlers(api)
# mode="view" wraps the whole operation (auth and validation included); the last added is
# the outermost.
api.add_decorator(conditional_get, mode="view")
api.add_decorator(rate_limited, mode="view")
api.add_router("/", accounts_router)
api.add_router("/", pets_router)
api.add_router("/", health_router)
api.add_router("/", notifications_router)
api.add_router("/", pet_updates_router)
api.add_router("/", apprise_router)
api.add_router("/", devices_router)
api.add_router("/", phone_channels_router)
api.add_router("/", documents_router)
api.add_router("/", qr_router)
api.add_router("/", lostpet_router)
api.add_router("/", sightings_router)
api.add_router("/", reminders_router)
