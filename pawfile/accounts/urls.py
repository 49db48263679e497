from django.urls import path

from pawfile.accounts import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("home/", views.home, name="home"),
    path("preferences/", views.preferences, name="preferences"),
    path("theme/", views.theme_set, name="theme_set"),
    path("language/", views.language_set, name="language_set"),
    path("setup/<str:token>/", views.first_admin, name="first_admin"),
    path("households/<int:household_id>/", views.household_detail, name="household_detail"),
    path("households/<int:household_id>/rename/", views.household_rename, name="household_rename"),
    path("households/<int:household_id>/leave/", views.household_leave, name="household_leave"),
    path(
        "households/<int:household_id>/invitations/",
        views.invitation_create,
        name="invitation_create",
    ),
    path(
        "households/<int:household_id>/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "households/<int:household_id>/members/<int:user_id>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "households/<int:household_id>/members/<int:user_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path(
        "households/<int:household_id>/members/<int:user_id>/transfer/",
        views.member_transfer,
        name="member_transfer",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
