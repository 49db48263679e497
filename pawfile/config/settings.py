"""Pawfile settings, read from the environment (and a ``.env`` file in the working directory).

Every variable is listed with its default and meaning in ``.env.example``. The same module
serves both modes: without ``DATABASE_URL``/``REDIS_URL`` it runs embedded on SQLite under
``PAWFILE_DATA_DIR``; with them it runs scale-out on PostgreSQL and Redis.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from pawfile.lib.env import Env, dotenv_load

PACKAGE_DIR = Path(__file__).resolve().parent.parent

dotenv_load(Path.cwd() / ".env")
env = Env()

DEFAULT_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105 - the refused default

# ``test`` is for tools that load the settings without running the site (type and migration
# checks): a throwaway secret key, nothing written to the data dir. The test suite runs with
# its own settings module, ``pawfile.config.settings_test``.
PAWFILE_ENV = env.str("PAWFILE_ENV", "development")
if PAWFILE_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured("PAWFILE_ENV must be development, production or test")
PRODUCTION = PAWFILE_ENV == "production"

DATA_DIR = Path(env.str("PAWFILE_DATA_DIR", "data")).resolve()
DEBUG = env.bool("PAWFILE_DEBUG", False) and not PRODUCTION

PAWFILE_BASE_URL = env.url("PAWFILE_BASE_URL", "", schemes=("http", "https"))
# The site's name in every mail (and the mail subject prefix) and for the TOTP issuer.
PAWFILE_SITE_NAME = env.str("PAWFILE_SITE_NAME", "Pawfile").strip() or "Pawfile"
if PRODUCTION and not PAWFILE_BASE_URL:
    raise ImproperlyConfigured("PAWFILE_BASE_URL is required when PAWFILE_ENV=production")
if not PAWFILE_BASE_URL:
    PAWFILE_BASE_URL = "http://" + env.str("PAWFILE_BIND", "127.0.0.1:8000")
HTTPS = PAWFILE_BASE_URL.startswith("https://")


def _secret_key() -> str:
    """The key from the environment, else the one persisted in the data dir (made on first use).

    Production refuses a missing or default key; it never invents one, because several web
    processes must share the same key. Processes that start together with no key file agree
    on the first one written (``_key_file_create``).
    """
    key = env.secret("PAWFILE_SECRET_KEY")
    if key:
        if PRODUCTION and (key == DEFAULT_SECRET_KEY or len(key) < 32):
            raise ImproperlyConfigured(
                "PAWFILE_SECRET_KEY is the default or shorter than 32 characters; "
                "set a long random value, e.g. from: "
                "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
            )
        return key
    if PRODUCTION:
        raise ImproperlyConfigured(
            "PAWFILE_SECRET_KEY (or PAWFILE_SECRET_KEY_FILE) is required in production"
        )
    path = DATA_DIR / "secret_key"
    if not path.is_file():
        if PAWFILE_ENV == "test":
            return "test-" + "k" * 60
        _key_file_create(path)
    return path.read_text(encoding="utf-8").strip()


def _key_file_create(path: Path, content: str | None = None) -> None:
    """Write a new random key (or ``content``) to ``path`` (mode 600) unless a key is there.

    The key is written in full under another name and then linked into place, which fails if
    ``path`` exists: a process never reads a half-written key, and of several starting at
    once, all use the first key linked.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(50) if content is None else content)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


SECRET_KEY = _secret_key()


def _field_keys() -> list[str]:
    """The keys that encrypt stored secrets field by field (``pawfile.lib.crypto``).

    ``PAWFILE_FIELD_KEYS`` (or ``_FILE``): comma-separated Fernet keys; the first encrypts,
    all decrypt (rotation: put a new key first, run ``pawfile rotate-keys``, then drop the
    old one). Production refuses to start without them. Elsewhere one key is generated once
    into ``PAWFILE_DATA_DIR/field_keys`` (mode 600), as the secret key is.
    """
    from cryptography.fernet import Fernet

    raw = env.secret("PAWFILE_FIELD_KEYS")
    source = "PAWFILE_FIELD_KEYS"
    if not raw:
        if PRODUCTION:
            raise ImproperlyConfigured(
                "PAWFILE_FIELD_KEYS (or PAWFILE_FIELD_KEYS_FILE) is required in production; "
                "make a key with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            )
        path = DATA_DIR / "field_keys"
        if not path.is_file():
            if PAWFILE_ENV == "test":
                return ["dGVzdC1maWVsZC1rZXktLXRlc3QtZmllbGQta2V5LS0="]
            _key_file_create(path, Fernet.generate_key().decode())
        raw, source = path.read_text(encoding="utf-8"), str(path)
    keys = [key.strip() for key in raw.replace("\n", ",").split(",") if key.strip()]
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"{source}: key {number} is not a Fernet key (32 bytes in url-safe base64)"
            ) from None
    if not keys:
        raise ImproperlyConfigured(f"{source} holds no key")
    return keys


PAWFILE_FIELD_KEYS = _field_keys()

ALLOWED_HOSTS = env.list("PAWFILE_ALLOWED_HOSTS") or [
    PAWFILE_BASE_URL.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
]
if not PRODUCTION:
    ALLOWED_HOSTS += ["localhost", "127.0.0.1", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = [PAWFILE_BASE_URL.split("/", 3)[0] + "//" + PAWFILE_BASE_URL.split("/")[2]]

PAWFILE_TRUSTED_PROXIES = env.list("PAWFILE_TRUSTED_PROXIES")
# Whether a reverse proxy stands in front (an https base URL while bound to a loopback
# address means one does, unless said otherwise); `pawfile check --deploy` then asks for
# PAWFILE_TRUSTED_PROXIES (pawfile/ops/checks.py).
PAWFILE_BEHIND_PROXY = env.bool(
    "PAWFILE_BEHIND_PROXY",
    HTTPS
    and env.str("PAWFILE_BIND", "127.0.0.1:8000").rsplit(":", 1)[0].strip("[]")
    in {"127.0.0.1", "localhost", "::1"},
)
PAWFILE_ADMIN_PATH = env.str("PAWFILE_ADMIN_PATH", "admin").strip("/") + "/"
PAWFILE_ADMIN_ALLOWED_IPS = env.list("PAWFILE_ADMIN_ALLOWED_IPS")
PAWFILE_DUE_SOON_DAYS = env.int("PAWFILE_DUE_SOON_DAYS", 30, minimum=0)
PAWFILE_INVITATION_MAX_AGE = env.int("PAWFILE_INVITATION_MAX_AGE", 7 * 24 * 3600, minimum=60)
# Invitations are mail to any address: how many a household, and one sender, may send per
# 24 hours, and how many may wait unanswered in a household (spam and phishing brake).
PAWFILE_INVITATIONS_PER_DAY = env.int("PAWFILE_INVITATIONS_PER_DAY", 20, minimum=1)
PAWFILE_INVITATIONS_PER_SENDER_PER_DAY = env.int(
    "PAWFILE_INVITATIONS_PER_SENDER_PER_DAY", 20, minimum=1
)
PAWFILE_INVITATIONS_PENDING_MAX = env.int("PAWFILE_INVITATIONS_PENDING_MAX", 20, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.headless",
    "allauth.usersessions",
    "huey.contrib.djhuey",
    "ninja",
    "pawfile.outbox",
    "pawfile.accounts",
    "pawfile.pets",
    "pawfile.health",
    "pawfile.notifications",
    "pawfile.reminders",
    "pawfile.qr",
    "pawfile.lostpet",
    "pawfile.documents",
    "pawfile.privacy",
    "pawfile.ops",
]

MIDDLEWARE = [
    "pawfile.ops.middleware.RequestIdMiddleware",
    "pawfile.ops.middleware.MetricsMiddleware",
    "pawfile.ops.middleware.SecurityHeadersMiddleware",
    "pawfile.ops.middleware.ProbeMiddleware",
    "pawfile.lib.requestsize.RequestSizeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "pawfile.lib.apipath.BearerApiMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "pawfile.accounts.middleware.SessionUserMiddleware",  # Django's, a cheaper user read
    "pawfile.accounts.middleware.AuthRateLimitMiddleware",
    "pawfile.accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "pawfile.accounts.middleware.AdminGuardMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
]

ROOT_URLCONF = "pawfile.config.urls"
WSGI_APPLICATION = "pawfile.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pawfile.accounts.context_processors.pawfile",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env.url("DATABASE_URL", "", schemes=("postgres", "postgresql", "sqlite"))
DATABASES: dict[str, dict[str, Any]]
if DATABASE_URL:
    DATABASES = {
        "default": dict(
            dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend whose health check of a reused connection costs no round trip
        # (Django's own is a SELECT 1 at the start of every request) and which reads
        # timestamps with psycopg's own loader (lib/postgres).
        DATABASES["default"]["ENGINE"] = "pawfile.lib.postgres"
        # Prepared statements: PostgreSQL parses and plans each hot query once per connection
        # instead of on every call (about half its CPU per API call). Off behind a pooler in
        # transaction mode that cannot keep them (PgBouncer before 1.21 or without
        # max_prepared_statements).
        if env.bool("PAWFILE_DATABASE_PREPARED", True):
            options = DATABASES["default"].setdefault("OPTIONS", {})
            options.update(server_side_binding=True, prepare_threshold=5)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "pawfile.sqlite3",
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers wait on busy_timeout
        # instead of failing with "database is locked" half way through a transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
        ),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = None
# SQLCipher: with PAWFILE_DB_KEY (or _FILE) every SQLite database Pawfile keeps (the site's
# and the task queue's) is encrypted with that passphrase (pawfile.lib.sqlcipher); a wrong
# key stops `pawfile` at start with a message. No effect on PostgreSQL.
PAWFILE_DB_KEY = env.secret("PAWFILE_DB_KEY")
if PAWFILE_DB_KEY and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "pawfile.lib.sqlcipher"
    DATABASES["default"]["OPTIONS"]["key"] = PAWFILE_DB_KEY
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, queue ---------------------------------------------------------------------------
REDIS_URL = env.url("REDIS_URL", "", schemes=("redis", "rediss", "unix"))
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis cache with one client per pool instead of one per call, and
            # rate-limit windows in one round trip (lib/rediscache.py).
            "BACKEND": "pawfile.lib.rediscache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("PAWFILE_CACHE_PREFIX", "pawfile"),
            # Fail fast when Redis stops answering: /health says 503 instead of hanging.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            # In-process, bounded in bytes (cached PDFs, pages), not only in entries.
            "BACKEND": "pawfile.lib.memcache.BoundedMemoryCache",
            "LOCATION": "pawfile",
            "OPTIONS": {
                "MAX_ENTRIES": 20000,
                "MAX_BYTES": env.int("PAWFILE_CACHE_MEMORY_MB", 64, minimum=1) * 1024 * 1024,
            },
        }
    }

HUEY_IMMEDIATE = env.bool("PAWFILE_TASKS_IMMEDIATE", False)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": env.str("PAWFILE_QUEUE_NAME", "pawfile"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "utc": True,
        # Nothing reads a task's return value: without this every one stays in the
        # queue's results store (a Redis hash, a table of the queue file) for ever.
        "results": False,
    }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "pawfile",
        "filename": str(DATA_DIR / "tasks.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "utc": True,
        "results": False,  # as above
    }
    if PAWFILE_DB_KEY:
        HUEY.update(huey_class="pawfile.lib.tasks_sqlcipher.SqlCipherHuey", key=PAWFILE_DB_KEY)
PAWFILE_WORKER_THREADS = env.int("PAWFILE_WORKER_THREADS", 2, minimum=1)
# `pawfile web` defaults (its --workers and --threads win)
PAWFILE_WEB_WORKERS = env.int("PAWFILE_WEB_WORKERS", 1, minimum=1)
# Threads: by default twice the CPUs plus one, at most 8 (more makes granian warn at start).
PAWFILE_WEB_THREADS = env.int(
    "PAWFILE_WEB_THREADS", min(8, 2 * (os.cpu_count() or 1) + 1), minimum=1
)
# Outbox (side effects such as mail): seconds a worker owns a message it is delivering (keep
# it well above the slowest send), attempts before a message is failed, and the first wait
# before a retry in seconds (doubled each time, at most an hour, with jitter); sent and failed
# messages are deleted after this many days.
PAWFILE_OUTBOX_LEASE = env.int("PAWFILE_OUTBOX_LEASE", 300, minimum=1)
PAWFILE_OUTBOX_MAX_ATTEMPTS = env.int("PAWFILE_OUTBOX_MAX_ATTEMPTS", 10, minimum=1)
PAWFILE_OUTBOX_BACKOFF = env.int("PAWFILE_OUTBOX_BACKOFF", 30, minimum=1)
PAWFILE_OUTBOX_KEEP_DAYS = env.int("PAWFILE_OUTBOX_KEEP_DAYS", 30, minimum=1)
# QR codes: the domains a generic code may lead to (empty: any http/https address), the
# addresses or networks allowed to manage codes (empty: any), and how often each web process
# writes the scans it buffered (milliseconds).
PAWFILE_QR_ALLOWED_DOMAINS = env.list("PAWFILE_QR_ALLOWED_DOMAINS")
PAWFILE_QR_ADMIN_ALLOWED_IPS = env.list("PAWFILE_QR_ADMIN_ALLOWED_IPS")
for _network in PAWFILE_QR_ADMIN_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"PAWFILE_QR_ADMIN_ALLOWED_IPS: {_network!r} is not an address or network"
        ) from None
PAWFILE_QR_FLUSH_INTERVAL_MS = env.int("PAWFILE_QR_FLUSH_INTERVAL_MS", 1000, minimum=50)
# QR scans older than this many days are folded into per-code per-day totals (qr.ScanDay)
# and deleted; claiming a pre-printed tag: limits per user and per client address.
PAWFILE_SCAN_RETENTION_DAYS = env.int("PAWFILE_SCAN_RETENTION_DAYS", 365, minimum=1)
PAWFILE_QR_CLAIM_RATELIMIT_USER = env.str("PAWFILE_QR_CLAIM_RATELIMIT_USER", "10/3600")
PAWFILE_QR_CLAIM_RATELIMIT_IP = env.str("PAWFILE_QR_CLAIM_RATELIMIT_IP", "30/3600")
# Optional: a MaxMind GeoLite2/GeoIP2 Country or City file; QR scans then get a country.
PAWFILE_GEOIP_PATH = env.str("PAWFILE_GEOIP_PATH", "")
# Finder reports on a lost pet's public page: limits per client address and per pet
# ("count/seconds"), and how many reports of one pet alert its owners at once per clock hour
# (the rest wait for one summary when the hour ends).
PAWFILE_SIGHTING_RATELIMIT_IP = env.str("PAWFILE_SIGHTING_RATELIMIT_IP", "5/600")
PAWFILE_SIGHTING_RATELIMIT_PET = env.str("PAWFILE_SIGHTING_RATELIMIT_PET", "60/3600")
PAWFILE_SIGHTING_ALERTS_PER_HOUR = env.int("PAWFILE_SIGHTING_ALERTS_PER_HOUR", 10, minimum=1)
# While a pet is lost, each scan of its tags alerts its owners at once, at most this many
# per pet per clock hour (the rest wait for the hour's summary, with the finder reports).
PAWFILE_LOST_SCAN_ALERTS_PER_HOUR = env.int("PAWFILE_LOST_SCAN_ALERTS_PER_HOUR", 5, minimum=1)
# The public page's rendered body is kept in the cache (lostpet/cache.py); "off" renders it on
# every request (bench/web.py --public-page measures both).
PAWFILE_PUBLIC_PAGE_CACHE = env.bool("PAWFILE_PUBLIC_PAGE_CACHE", True)

# With Redis, sessions are read from the shared cache and written through to the database:
# every request and every JWT check (stateful validation reads the session) skips a query.
# Embedded mode keeps plain database sessions: its in-process cache is not shared between
# processes, and a revoked session must end everywhere at once.
SESSION_ENGINE = (
    "pawfile.accounts.sessions.cached_db"  # Django's engines, one hand-written read
    if REDIS_URL
    else "pawfile.accounts.sessions.db"
)
SESSION_COOKIE_AGE = env.int("PAWFILE_SESSION_AGE", 14 * 24 * 3600, minimum=300)

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "landing"

ACCOUNT_ADAPTER = "pawfile.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "pawfile.accounts.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
# The sign-up form asks for the person's name too (optional).
ACCOUNT_FORMS = {"signup": "pawfile.accounts.forms.SignupForm"}
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("PAWFILE_EMAIL_VERIFICATION", "mandatory")
if ACCOUNT_EMAIL_VERIFICATION not in {"mandatory", "optional", "none"}:
    raise ImproperlyConfigured("PAWFILE_EMAIL_VERIFICATION must be mandatory, optional or none")
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_PREVENT_ENUMERATION = True
# On only so that allauth asks the adapter, which sends nothing and does the work a known
# address costs (accounts.adapters.AccountAdapter._unknown_account): equal reset times.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{PAWFILE_SITE_NAME}] "
ACCOUNT_REAUTHENTICATION_REQUIRED = True

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = PAWFILE_SITE_NAME
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not HTTPS

GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID")
GOOGLE_CLIENT_SECRET = env.secret("GOOGLE_CLIENT_SECRET")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", "OpenID Connect")
OIDC_SERVER_URL = env.url("OIDC_SERVER_URL", "", schemes=("http", "https"))
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env.secret("OIDC_CLIENT_SECRET")
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET:
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""}],
        "SCOPE": ["profile", "email"],
        "AUTH_PARAMS": {"access_type": "online"},
        "EMAIL_AUTHENTICATION": True,
    }
if OIDC_SERVER_URL and OIDC_CLIENT_ID and OIDC_CLIENT_SECRET:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": "oidc",
                "name": OIDC_PROVIDER_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {"server_url": OIDC_SERVER_URL},
            }
        ]
    }
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True

HEADLESS_ONLY = False
HEADLESS_SERVE_SPECIFICATION = True
HEADLESS_SPECIFICATION_TEMPLATE_NAME = "headless/spec/swagger_local.html"
HEADLESS_TOKEN_STRATEGY = "pawfile.accounts.tokens.PawfileJWTStrategy"  # noqa: S105
HEADLESS_JWT_ALGORITHM = "HS256"
HEADLESS_JWT_PRIVATE_KEY = env.secret("PAWFILE_JWT_PRIVATE_KEY")
if HEADLESS_JWT_PRIVATE_KEY:
    HEADLESS_JWT_ALGORITHM = "RS256"
HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = env.int("PAWFILE_JWT_ACCESS_TTL", 300, minimum=30)
HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN = env.int("PAWFILE_JWT_REFRESH_TTL", 14 * 86400, minimum=300)
HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED = True
HEADLESS_JWT_ROTATE_REFRESH_TOKEN = True
PAWFILE_JWT_AUDIENCE = env.str("PAWFILE_JWT_AUDIENCE", PAWFILE_BASE_URL + "/api")
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": PAWFILE_BASE_URL + "/accounts/confirm-email/{key}/",
    "account_reset_password_from_key": PAWFILE_BASE_URL + "/accounts/password/reset/key/{key}/",
    "account_reset_password": PAWFILE_BASE_URL + "/accounts/password/reset/",
    "account_signup": PAWFILE_BASE_URL + "/accounts/signup/",
}

# Per-IP and per-account limits on every auth path: "count/seconds".
PAWFILE_RATELIMITS = {
    "login": env.str("PAWFILE_RATELIMIT_LOGIN", "20/300,10/300"),
    "signup": env.str("PAWFILE_RATELIMIT_SIGNUP", "10/3600,3/3600"),
    "password_reset": env.str("PAWFILE_RATELIMIT_PASSWORD_RESET", "10/3600,3/3600"),
    "mfa": env.str("PAWFILE_RATELIMIT_MFA", "20/300,10/300"),
    "token_refresh": env.str("PAWFILE_RATELIMIT_TOKEN_REFRESH", "60/300,30/300"),
}

# Limits on every /api/v1 request, as count/seconds: per signed-in user and per client IP.
PAWFILE_API_RATELIMIT_USER = env.str("PAWFILE_API_RATELIMIT_USER", "600/60")
PAWFILE_API_RATELIMIT_IP = env.str("PAWFILE_API_RATELIMIT_IP", "1200/60")

# --- Notifications, reminders, wallet passes: pawfile/config/settings_channels.py -----------
from pawfile.config.settings_channels import *  # noqa: E402, F403

# The live inbox poll reads each person's inbox revision from the cache when it is shared
# by every process (Redis); with the in-process cache it reads the database.
NOTIFY_REVISION_CACHE = bool(REDIS_URL)

# --- Email ----------------------------------------------------------------------------------
EMAIL_URL = env.secret("EMAIL_URL")
DEFAULT_FROM_EMAIL = env.str("PAWFILE_FROM_EMAIL", "Pawfile <pawfile@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if EMAIL_URL:
    from pawfile.lib.mailurl import email_settings_from_url

    globals().update(email_settings_from_url(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "pawfile_language"
LANGUAGE_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Each language's date formats, chosen once (pawfile/formats: "2 Dec 2026", "2 dic 2026").
FORMAT_MODULE_PATH = ["pawfile.formats"]

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
# Static files are served from the package by WhiteNoise (no collectstatic step); set
# PAWFILE_STATIC_ROOT only to collect them for a reverse proxy or CDN-less cache.
STATIC_ROOT = env.str("PAWFILE_STATIC_ROOT") or None
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
WHITENOISE_USE_FINDERS = True
WHITENOISE_MAX_AGE = 3600
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Stored files: local disk or S3-compatible object storage ---------------------------------
# Photos, attachments, exports, logos... go through Django's storage API: `local` keeps them
# under PAWFILE_DATA_DIR/media (one machine), `s3` in a bucket every node shares (scale-out;
# django-storages + boto3). Objects are written with no ACL (private under the bucket's own
# policy: keep public access blocked) and served only by the access-checked views, which
# stream them; S3_PRESIGN_SECONDS is the lifetime of a presigned URL should one be made
# (storage.url). S3_SSE asks the store to encrypt each object (AES256 or aws:kms, with
# S3_SSE_KMS_KEY_ID). Static files stay local (WhiteNoise).
PAWFILE_STORAGE = env.str("PAWFILE_STORAGE", env.str("STORAGE_BACKEND", "local")).lower()
if PAWFILE_STORAGE not in {"local", "s3"}:
    raise ImproperlyConfigured(f"PAWFILE_STORAGE must be local or s3, got {PAWFILE_STORAGE!r}")
S3_BUCKET = env.str("S3_BUCKET")
S3_ENDPOINT_URL = env.url("S3_ENDPOINT_URL", "", schemes=("http", "https"))
S3_REGION = env.str("S3_REGION", "us-east-1")
S3_ACCESS_KEY_ID = env.str("S3_ACCESS_KEY_ID")
S3_SECRET_ACCESS_KEY = env.secret("S3_SECRET_ACCESS_KEY")
S3_ADDRESSING_STYLE = env.str("S3_ADDRESSING_STYLE", "path" if S3_ENDPOINT_URL else "virtual")
S3_SSE = env.str("S3_SSE", "none")
S3_SSE_KMS_KEY_ID = env.str("S3_SSE_KMS_KEY_ID")
S3_PRESIGN_SECONDS = env.int("S3_PRESIGN_SECONDS", 300, minimum=1)
if PAWFILE_STORAGE == "s3":
    if not S3_BUCKET:
        raise ImproperlyConfigured("PAWFILE_STORAGE=s3 needs S3_BUCKET (the bucket's name)")
    if S3_ADDRESSING_STYLE not in {"path", "virtual"}:
        raise ImproperlyConfigured(
            f"S3_ADDRESSING_STYLE must be path or virtual, got {S3_ADDRESSING_STYLE!r}"
        )
    if S3_SSE not in {"none", "AES256", "aws:kms"}:
        raise ImproperlyConfigured(f"S3_SSE must be none, AES256 or aws:kms, got {S3_SSE!r}")
    if bool(S3_ACCESS_KEY_ID) != bool(S3_SECRET_ACCESS_KEY):
        raise ImproperlyConfigured(
            "Set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither (boto3's own "
            "credentials: instance role, ~/.aws)"
        )
    _object_parameters: dict[str, str] = {}
    if S3_SSE != "none":
        _object_parameters["ServerSideEncryption"] = S3_SSE
    if S3_SSE == "aws:kms" and S3_SSE_KMS_KEY_ID:
        _object_parameters["SSEKMSKeyId"] = S3_SSE_KMS_KEY_ID
    from botocore.config import Config as _S3Config

    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            # Short network timeouts: a store that stops answering fails a request in
            # seconds (boto3's default is a minute), after up to 3 attempts.
            "client_config": _S3Config(
                s3={"addressing_style": S3_ADDRESSING_STYLE},
                signature_version="s3v4",
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL or None,
            "region_name": S3_REGION,
            "access_key": S3_ACCESS_KEY_ID or None,
            "secret_key": S3_SECRET_ACCESS_KEY or None,
            "addressing_style": S3_ADDRESSING_STYLE,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": S3_PRESIGN_SECONDS,
            "file_overwrite": False,  # as on disk: a taken name gets a new one
            "object_parameters": _object_parameters,
        },
    }
# Refuse unsafe scale-out (pawfile/cli/): `pawfile web` with several workers and no Redis,
# or on PostgreSQL (other nodes may serve the same site) without Redis or without shared
# file storage, stops at start with the reason, unless this is set (`pawfile check
# --deploy` then warns: pawfile.W004).
PAWFILE_ALLOW_UNSHARED = env.bool("PAWFILE_ALLOW_UNSHARED", False)

# --- Backups (pawfile.ops.backup) -----------------------------------------------------------
# Where `pawfile backup` and the scheduled backups write their archives, when the scheduler
# makes one ("hourly", "daily", "off", or a crontab line "minute hour day month weekday", UTC),
# the age recipient they are encrypted to (empty: not encrypted), how many to keep (the newest
# of each of the last N hours, days and ISO weeks), and after how many seconds without a good
# backup /health warns (0: never; default three intervals for hourly, 26 hours otherwise).
# PAWFILE_BACKUP_DIR may be a bucket, "s3://bucket/prefix/": archives are then uploaded there
# (and pruned there) with the S3_* settings above, each of which PAWFILE_BACKUP_S3_* overrides
# for backups alone (another store, or keys that may write but not delete).
_backup_dir = env.str("PAWFILE_BACKUP_DIR", str(DATA_DIR / "backups"))
PAWFILE_BACKUP_DIR: Path | str = (
    _backup_dir if _backup_dir.startswith("s3://") else Path(_backup_dir).resolve()
)
if isinstance(PAWFILE_BACKUP_DIR, str) and not re.fullmatch(
    r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?", PAWFILE_BACKUP_DIR
):
    raise ImproperlyConfigured(
        f"PAWFILE_BACKUP_DIR must be a folder or s3://bucket/prefix/, got {PAWFILE_BACKUP_DIR!r}"
    )
_backup_endpoint = env.url(
    "PAWFILE_BACKUP_S3_ENDPOINT_URL", S3_ENDPOINT_URL, schemes=("http", "https")
)
PAWFILE_BACKUP_S3: dict[str, str] = {
    "endpoint_url": _backup_endpoint,
    "region": env.str("PAWFILE_BACKUP_S3_REGION", S3_REGION),
    "access_key_id": env.str("PAWFILE_BACKUP_S3_ACCESS_KEY_ID", S3_ACCESS_KEY_ID),
    "secret_access_key": env.secret("PAWFILE_BACKUP_S3_SECRET_ACCESS_KEY", S3_SECRET_ACCESS_KEY),
    "addressing_style": env.str(
        "PAWFILE_BACKUP_S3_ADDRESSING_STYLE",
        S3_ADDRESSING_STYLE
        if _backup_endpoint == S3_ENDPOINT_URL
        else "path"
        if _backup_endpoint
        else "virtual",
    ),
    "sse": env.str("PAWFILE_BACKUP_S3_SSE", S3_SSE),
    "sse_kms_key_id": env.str("PAWFILE_BACKUP_S3_SSE_KMS_KEY_ID", S3_SSE_KMS_KEY_ID),
}
if PAWFILE_BACKUP_S3["addressing_style"] not in {"path", "virtual"}:
    raise ImproperlyConfigured("PAWFILE_BACKUP_S3_ADDRESSING_STYLE must be path or virtual")
if PAWFILE_BACKUP_S3["sse"] not in {"none", "AES256", "aws:kms"}:
    raise ImproperlyConfigured("PAWFILE_BACKUP_S3_SSE must be none, AES256 or aws:kms")
if bool(PAWFILE_BACKUP_S3["access_key_id"]) != bool(PAWFILE_BACKUP_S3["secret_access_key"]):
    raise ImproperlyConfigured(
        "Set both PAWFILE_BACKUP_S3_ACCESS_KEY_ID and PAWFILE_BACKUP_S3_SECRET_ACCESS_KEY "
        "(or S3_*), or neither (boto3's own credentials)"
    )
PAWFILE_BACKUP_SCHEDULE = env.str("PAWFILE_BACKUP_SCHEDULE", "hourly").strip().lower()
if PAWFILE_BACKUP_SCHEDULE not in {"hourly", "daily", "off"} and (
    len(PAWFILE_BACKUP_SCHEDULE.split()) != 5
):
    raise ImproperlyConfigured(
        "PAWFILE_BACKUP_SCHEDULE must be hourly, daily, off or a crontab line "
        f"(minute hour day month weekday), got {PAWFILE_BACKUP_SCHEDULE!r}"
    )
PAWFILE_BACKUP_ENCRYPT_TO = env.str("PAWFILE_BACKUP_ENCRYPT_TO")
PAWFILE_BACKUP_KEEP_HOURLY = env.int("PAWFILE_BACKUP_KEEP_HOURLY", 24, minimum=0)
PAWFILE_BACKUP_KEEP_DAILY = env.int("PAWFILE_BACKUP_KEEP_DAILY", 7, minimum=0)
PAWFILE_BACKUP_KEEP_WEEKLY = env.int("PAWFILE_BACKUP_KEEP_WEEKLY", 8, minimum=0)
PAWFILE_BACKUP_STALE_AFTER = env.int(
    "PAWFILE_BACKUP_STALE_AFTER",
    {"hourly": 3 * 3600, "off": 0}.get(PAWFILE_BACKUP_SCHEDULE, 26 * 3600),
    minimum=0,
)

# --- Request bodies and image decoding --------------------------------------------------------
# Bodies over these sizes are refused with 413 before anything reads them
# (pawfile.lib.requestsize): uploads (photos, attachments; files up to 15 MB plus the form
# around them) and everything else.
PAWFILE_MAX_BODY = env.int("PAWFILE_MAX_BODY", 1024 * 1024, minimum=1024)
PAWFILE_MAX_UPLOAD_BODY = env.int(
    "PAWFILE_MAX_UPLOAD_BODY", max(16 * 1024 * 1024, PAWFILE_MAX_BODY), minimum=PAWFILE_MAX_BODY
)
# What Django itself allows: the form fields of any request fit in the general limit; an
# uploaded file is kept in memory up to Django's default, then spooled to a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = PAWFILE_MAX_BODY
FILE_UPLOAD_MAX_MEMORY_SIZE = min(2_621_440, PAWFILE_MAX_UPLOAD_BODY)
# Megabytes of large decoded pictures (over 4 megapixels) one process holds at once
# (pawfile.lib.images): Pillow keeps RGB in 4 bytes a pixel, so a 40-megapixel picture takes
# 160 MB while it is decoded; a decode larger than the budget runs alone.
PAWFILE_IMAGE_MEMORY = env.int("PAWFILE_IMAGE_MEMORY", 192, minimum=16)

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = HTTPS and env.bool("PAWFILE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("PAWFILE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env.bool("PAWFILE_HSTS_PRELOAD", False)
# Preloading binds the whole domain (and its subdomains) to HTTPS for months; it is the
# operator's call, so the reminder is silenced until they opt in.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if PAWFILE_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
PAWFILE_METRICS_TOKEN = env.secret("PAWFILE_METRICS_TOKEN")

# --- Logging --------------------------------------------------------------------------------
PAWFILE_LOG_LEVEL = env.str("PAWFILE_LOG_LEVEL", "INFO").upper()
PAWFILE_LOG_FORMAT = env.str("PAWFILE_LOG_FORMAT", "json" if PRODUCTION else "console")
if PAWFILE_LOG_FORMAT not in {"json", "console"}:
    raise ImproperlyConfigured("PAWFILE_LOG_FORMAT must be json or console")
LOGGING_CONFIG = "pawfile.ops.logging.configure"
LOGGING = {"level": PAWFILE_LOG_LEVEL, "format": PAWFILE_LOG_FORMAT}
