"""WSGI entry point: ``pawfile.config.wsgi:application`` (what granian serves)."""

import os

from django.core.wsgi import get_wsgi_application

from pawfile.lib.requestsize import request_size_limited

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pawfile.config.settings")
# Bodies sent without a length are counted against their route's limit (lib/requestsize).
application = request_size_limited(get_wsgi_application())
