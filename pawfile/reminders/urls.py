"""Reminder pages."""

from django.urls import path

import pawfile.lib.ids  # noqa: F401  (registers the <id:...> path converter)
from pawfile.reminders import views

app_name = "reminders"

urlpatterns = [
    path("reminders/", views.reminder_list, name="list"),
    path("pets/<id:pet_id>/reminders/", views.pet_reminder_list, name="pet_list"),
    path("pets/<id:pet_id>/reminders/new/", views.reminder_create, name="create"),
    path("reminders/<id:reminder_id>/", views.reminder_detail, name="detail"),
    path("reminders/<id:reminder_id>/edit/", views.reminder_edit, name="edit"),
    path("reminders/<id:reminder_id>/delete/", views.reminder_delete, name="delete"),
    path("reminders/<id:reminder_id>/<slug:action>/", views.reminder_action, name="action"),
]
