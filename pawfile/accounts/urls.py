from django.urls import path

import pawfile.lib.ids  # noqa: F401  (registers the <id:...> path converter)
from pawfile.accounts import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("home/", views.home, name="home"),
    path("preferences/", views.preferences, name="preferences"),
    path("theme/", views.theme_set, name="theme_set"),
    path("language/", views.language_set, name="language_set"),
    path("setup/<str:token>/", views.first_admin, name="first_admin"),
    path("households/<id:household_id>/", views.household_detail, name="household_detail"),
    path("households/<id:household_id>/rename/", views.household_rename, name="household_rename"),
    path("households/<id:household_id>/leave/", views.household_leave, name="household_leave"),
    path(
        "households/<id:household_id>/invitations/",
        views.invitation_create,
        name="invitation_create",
    ),
    path(
        "households/<id:household_id>/invitations/<id:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "households/<id:household_id>/members/<id:user_id>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "households/<id:household_id>/members/<id:user_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path(
        "households/<id:household_id>/members/<id:user_id>/transfer/",
        views.member_transfer,
        name="member_transfer",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
