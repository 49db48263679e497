from django.urls import path

import pawfile.lib.ids  # noqa: F401  (registers the <id:...> path converter)
from pawfile.documents import poster_views, views
from pawfile.documents.wallet import views as wallet_views

urlpatterns = [
    path("pets/<id:pet_id>/report.pdf", views.pet_report, name="pet_report"),
    path("pets/<id:pet_id>/poster.pdf", poster_views.pet_poster, name="pet_poster"),
    path(
        "pets/<id:pet_id>/wallet/apple.pkpass", wallet_views.wallet_apple, name="pet_wallet_apple"
    ),
    path("pets/<id:pet_id>/wallet/google", wallet_views.wallet_google, name="pet_wallet_google"),
]
