"""Settings of the test suite (pytest's ``DJANGO_SETTINGS_MODULE``, set in ``pyproject.toml``).

The real settings, read from the environment as for any run (SQLite, or PostgreSQL and Redis
when ``DATABASE_URL`` / ``REDIS_URL`` are set), then what the tests need, each set here.
Nothing looks at how the process was started: a process the tests start (``pawfile web``,
``pawfile worker``) runs the real settings unless it is given this module.
"""

from __future__ import annotations

import os

from pawfile.config.settings import *  # noqa: F403 - the real settings, then the changes below
from pawfile.config.settings import CACHES, DATABASES, EMAIL_URL, HUEY, env

# A fixed key: nothing signed in a test depends on a key file in some data dir.
SECRET_KEY = "test-" + "k" * 60
# The same for the key that encrypts stored secrets (pawfile.lib.crypto).
PAWFILE_FIELD_KEYS = ["dGVzdC1maWVsZC1rZXktLXRlc3QtZmllbGQta2V5LS0="]

# Password hashing is not under test here; the fastest hasher keeps sign-ins cheap.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tasks run where they are enqueued (Huey's immediate mode, in memory).
HUEY_IMMEDIATE = env.bool("PAWFILE_TASKS_IMMEDIATE", True)
HUEY = {**HUEY, "immediate": HUEY_IMMEDIATE}

# No connection outlives its request: the live server's request threads would otherwise hold
# the test database open (PostgreSQL then refuses to drop it).
DATABASES["default"]["CONN_MAX_AGE"] = 0

# Parallel test workers (pytest-xdist) share one Redis: each keeps to its own key prefix.
if "KEY_PREFIX" in CACHES["default"]:
    CACHES["default"]["KEY_PREFIX"] += os.environ.get("PYTEST_XDIST_WORKER", "")

# Mail stays in memory (``django.core.mail.outbox``) unless a test sends it to an SMTP server.
if not EMAIL_URL:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
