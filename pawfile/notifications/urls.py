from django.urls import path

import pawfile.lib.ids  # noqa: F401  (registers the <id:...> path converter)
from pawfile.notifications import apprise_views, updates_views, views

urlpatterns = [
    path("updates/", updates_views.pet_update_list, name="pet_update_list"),
    path("updates/<id:update_id>/", updates_views.pet_update_detail, name="pet_update_detail"),
    path("updates/mute/<id:user_id>", updates_views.pet_update_mute, name="pet_update_mute"),
    path("pets/<id:pet_id>/updates/new", updates_views.pet_update_new, name="pet_update_new"),
    path("notifications/apprise/", apprise_views.apprise_targets, name="apprise_targets"),
    path(
        "notifications/apprise/<id:target_id>/test",
        apprise_views.apprise_target_test,
        name="apprise_target_test",
    ),
    path(
        "notifications/apprise/<id:target_id>/delete",
        apprise_views.apprise_target_delete,
        name="apprise_target_delete",
    ),
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

# Web push and the installable app (push_views.py); the worker and manifest at the root.
from pawfile.notifications import push_views  # noqa: E402

urlpatterns += [
    path("sw.js", push_views.service_worker, name="service_worker"),
    path("manifest.webmanifest", push_views.manifest, name="web_manifest"),
    path("notifications/push/subscribe", push_views.push_subscribe, name="push_subscribe"),
    path("notifications/push/unsubscribe", push_views.push_unsubscribe, name="push_unsubscribe"),
    path(
        "notifications/devices/<id:device_id>/remove",
        push_views.device_remove,
        name="push_device_remove",
    ),
]

# Phone channels (phone_views.py) and the providers' webhooks (webhooks.py).
from pawfile.notifications import phone_views, webhooks  # noqa: E402

urlpatterns += [
    path("notifications/phone/", phone_views.phone_settings, name="phone_settings"),
    path(
        "notifications/phone/<str:channel>/<str:action>",
        phone_views.phone_action,
        name="phone_action",
    ),
    path("hooks/whatsapp", webhooks.whatsapp_hook, name="whatsapp_hook"),
    path("hooks/twilio/status", webhooks.twilio_status_hook, name="twilio_status_hook"),
    path("hooks/twilio/inbound", webhooks.twilio_inbound_hook, name="twilio_inbound_hook"),
]
