"""WSGI entry point: ``pawfile.config.wsgi:application`` (what granian serves)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pawfile.config.settings")
application = get_wsgi_application()
