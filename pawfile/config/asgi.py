"""ASGI entry point, kept for long-lived connections; the app itself is served over WSGI."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pawfile.config.settings")
application = get_asgi_application()
