"""Health record pages (names are what templates and the pet pages link to)."""

from django.urls import path

import pawfile.lib.ids  # noqa: F401  (registers the <id:...> path converter)
from pawfile.health import views

urlpatterns = [
    path("pets/<id:pet_id>/timeline/", views.pet_timeline, name="pet_timeline"),
    path("pets/<id:pet_id>/records/new/<str:kind>/", views.record_create, name="record_create"),
    path("records/<id:record_id>/", views.record_detail, name="record_detail"),
    path("records/<id:record_id>/edit/", views.record_edit, name="record_edit"),
    path("records/<id:record_id>/delete/", views.record_delete, name="record_delete"),
    path("records/<id:record_id>/attachments/", views.attachment_add, name="attachment_add"),
    path(
        "attachments/<id:attachment_id>/download/",
        views.attachment_file,
        name="attachment_file",
    ),
    path(
        "attachments/<id:attachment_id>/delete/",
        views.attachment_delete,
        name="attachment_delete",
    ),
]
