from django.urls import path

import pawfile.lib.ids  # noqa: F401  (registers the <id:...> path converter)
from pawfile.notifications import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/live", views.notification_live, name="notification_live"),
    path("notifications/read-all", views.notification_read_all, name="notification_read_all"),
    path(
        "notifications/<id:notification_id>/read",
        views.notification_read,
        name="notification_read",
    ),
    path(
        "notifications/<id:notification_id>/delete",
        views.notification_delete,
        name="notification_delete",
    ),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
    path("cal/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    path(
        "notifications/calendar/new",
        views.calendar_regenerate,
        name="calendar_regenerate",
    ),
    path(
        "notifications/unsubscribe/<str:token>/",
        views.notification_unsubscribe,
        name="notification_unsubscribe",
    ),
]
