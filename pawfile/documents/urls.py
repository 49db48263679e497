from django.urls import path

import pawfile.lib.ids  # noqa: F401  (registers the <id:...> path converter)
from pawfile.documents import views

urlpatterns = [
    path("pets/<id:pet_id>/report.pdf", views.pet_report, name="pet_report"),
]
