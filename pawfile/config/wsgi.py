"""WSGI entry point: ``pawfile.config.wsgi:application`` (what granian serves)."""

import os

from pawfile.lib.requestsize import request_size_limited
from pawfile.lib.webpath import web_application
from pawfile.ops.tracing import tracing_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pawfile.config.settings")
# Optional OpenTelemetry (ops/tracing): before Django loads its middleware, off unless configured.
tracing_start("web")
# Django's handler, each path matched once per process (lib/webpath); bodies sent without a
# length are counted against their route's limit (lib/requestsize).
django_application = request_size_limited(web_application())

from pawfile.lostpet.fastpage import public_page_fast  # noqa: E402  (needs the apps loaded)
from pawfile.notifications.live import live_poll  # noqa: E402  (needs the apps loaded)
from pawfile.qr.redirect import qr_redirect  # noqa: E402  (needs the apps loaded)

# /r/{id} (QR scans) is answered in front of Django (pawfile/qr/redirect.py), and so is an
# unchanged poll of the notification bell (pawfile/notifications/live.py).
# A stranger's repeat visit of a pet's public page /p/{slug} too (pawfile/lostpet/fastpage.py).
# The redirect is the outermost: a scan, the busiest and cheapest request, passes no other layer.
application = qr_redirect(live_poll(public_page_fast(django_application)))
