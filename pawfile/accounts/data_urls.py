"""URLs of the "Your data" pages: exports and account deletion."""

from django.urls import path

from pawfile.accounts import data_views

urlpatterns = [
    path("data/", data_views.data_index, name="data_index"),
    path("data/exports/", data_views.data_export_request, name="data_export_request"),
    path(
        "data/exports/<str:token>/download/",
        data_views.data_export_download,
        name="data_export_download",
    ),
    path("data/delete-account/", data_views.account_delete, name="account_delete"),
]
