"""Pages of the lost-pet app: the public page of a pet and the owner's screens."""

from django.urls import path, re_path

import pawfile.lib.ids  # noqa: F401  (registers the <id:...> path converter)
from pawfile.lostpet import views

app_name = "lostpet"

urlpatterns = [
    re_path(r"^p/(?P<slug>[0-9a-z]{1,24})$", views.public_page, name="public_page"),
    re_path(
        r"^p/(?P<slug>[0-9a-z]{1,24})/photo/(?P<key>[0-9a-f-]{36})-(?P<variant>[a-z]+)\.(?P<fmt>[a-z]+)$",
        views.public_photo,
        name="public_photo",
    ),
    path("pets/<id:pet_id>/public/", views.public_settings, name="public_settings"),
    path("pets/<id:pet_id>/public/preview/", views.public_preview, name="public_preview"),
    path("pets/<id:pet_id>/lost/", views.lost_mode, name="lost_mode"),
    path("pets/<id:pet_id>/found/", views.found, name="found"),
    path("pets/<id:pet_id>/tags/", views.tags, name="tags"),
    path("pets/<id:pet_id>/tags/new/", views.tag_create, name="tag_create"),
    path("pets/<id:pet_id>/tags/link/", views.tag_link, name="tag_link"),
    path("pets/<id:pet_id>/tags/<str:code_id>/unlink/", views.tag_unlink, name="tag_unlink"),
]

# Finder reports (sighting_views): the finder's form and the owners' pages.
from pawfile.lostpet import sighting_views  # noqa: E402

urlpatterns += [
    re_path(r"^p/(?P<slug>[0-9a-z]{1,24})/found/$", sighting_views.finder_report, name="finder"),
    path("pets/<id:pet_id>/sightings/", sighting_views.sighting_list, name="sightings"),
    path(
        "pets/<id:pet_id>/sightings/read/",
        sighting_views.sightings_read_all,
        name="sightings_read_all",
    ),
    path("sightings/<id:sighting_id>/read/", sighting_views.sighting_read, name="sighting_read"),
    path("sightings/<id:sighting_id>/reply/", sighting_views.sighting_reply, name="sighting_reply"),
    path(
        "sightings/<id:sighting_id>/delete/",
        sighting_views.sighting_delete,
        name="sighting_delete",
    ),
    path("sightings/<id:sighting_id>/photo/", sighting_views.sighting_photo, name="sighting_photo"),
]
