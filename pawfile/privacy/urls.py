"""URLs of the "Your data" pages: exports and account deletion."""

from django.urls import path

from pawfile.privacy import views

urlpatterns = [
    path("data/", views.data_index, name="data_index"),
    path("data/exports/", views.data_export_request, name="data_export_request"),
    path(
        "data/exports/<str:token>/download/",
        views.data_export_download,
        name="data_export_download",
    ),
    path("data/delete-account/", views.account_delete, name="account_delete"),
]
