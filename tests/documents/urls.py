"""The site's URLs plus the documents router on an API of its own.

The documents router is not mounted on ``/api/v1`` by this app (the config module is shared);
this URLconf lets its tests call the route through a real NinjaAPI with the same
authentication and error format.
"""

from django.urls import path
from ninja import NinjaAPI

from pawfile.accounts.apiauth import BearerAuth, SessionCsrfAuth
from pawfile.config.urls import urlpatterns as site_urlpatterns
from pawfile.documents.api import router
from pawfile.lib.api import install_error_handlers

api = NinjaAPI(
    title="documents under test",
    version="test",
    auth=[BearerAuth(), SessionCsrfAuth()],
    urls_namespace="documents_test_api",
    docs_url=None,
)
install_error_handlers(api)
api.add_router("/", router)

urlpatterns = [*site_urlpatterns, path("documents-api/", api.urls)]
