from django.urls import path, re_path

import pawfile.lib.ids  # noqa: F401  (registers the <id:...> path converter)
from pawfile.qr import views

urlpatterns = [
    path("qr/", views.code_list, name="qr_code_list"),
    path("qr/new/", views.code_create, name="qr_code_create"),
    path("qr/batches/", views.batch_list, name="qr_batch_list"),
    path("qr/batches/<id:batch_id>/", views.batch_detail, name="qr_batch_detail"),
    path("qr/batches/<id:batch_id>/sheet.pdf", views.batch_sheet, name="qr_batch_sheet"),
    path("qr/batches/<id:batch_id>/codes.csv", views.batch_csv, name="qr_batch_csv"),
    path("qr/<str:code_id>/", views.code_detail, name="qr_code_detail"),
    path("qr/<str:code_id>/active/", views.code_active, name="qr_code_active"),
    path("qr/<str:code_id>/delete/", views.code_delete, name="qr_code_delete"),
    re_path(
        r"^q/(?P<code_id>[0-9a-z]{1,16})\.(?P<kind>png|svg|pdf)$",
        views.code_image,
        name="qr_code_image",
    ),
    # Where the redirect sends a tag nobody linked (``/t/{id}``, no slash: no extra hop).
    re_path(r"^t/(?P<code_id>[0-9a-z]{1,16})$", views.tag_claim, name="qr_tag_claim"),
]
