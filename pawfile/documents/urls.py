from django.urls import path

from pawfile.documents import views

urlpatterns = [
    path("pets/<int:pet_id>/report.pdf", views.pet_report, name="pet_report"),
]
