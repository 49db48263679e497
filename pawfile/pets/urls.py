"""Pages for pets, photos, notes and contacts (names used by templates and other apps)."""

from django.urls import path

import pawfile.lib.ids  # noqa: F401  (registers the <id:...> path converter)
from pawfile.pets import views

urlpatterns = [
    path("pets/", views.pet_list, name="pet_list"),
    path("pets/new/", views.pet_create, name="pet_create"),
    path("pets/breeds/", views.breed_options, name="breed_options"),
    path("pets/<id:pet_id>/", views.pet_detail, name="pet_detail"),
    path("pets/<id:pet_id>/edit/", views.pet_edit, name="pet_edit"),
    path("pets/<id:pet_id>/delete/", views.pet_delete, name="pet_delete"),
    path("pets/<id:pet_id>/photos/new/", views.photo_upload, name="photo_upload"),
    path("photos/<id:photo_id>/primary/", views.photo_primary, name="photo_primary"),
    path("photos/<id:photo_id>/delete/", views.photo_delete, name="photo_delete"),
    path("photos/<uuid:key>/<str:variant>.<str:fmt>", views.photo_file, name="photo_file"),
    path("pets/<id:pet_id>/notes/", views.note_list, name="note_list"),
    path("pets/<id:pet_id>/notes/new/", views.note_create, name="note_create"),
    path("notes/<id:note_id>/edit/", views.note_edit, name="note_edit"),
    path("notes/<id:note_id>/pin/", views.note_pin, name="note_pin"),
    path("notes/<id:note_id>/delete/", views.note_delete, name="note_delete"),
    path("households/<id:household_id>/contacts/", views.contact_list, name="contact_list"),
    path(
        "households/<id:household_id>/contacts/new/",
        views.contact_create,
        name="contact_create",
    ),
    path("contacts/<id:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<id:contact_id>/delete/", views.contact_delete, name="contact_delete"),
]
