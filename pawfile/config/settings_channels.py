"""Settings of the notification channels, reminders and wallet passes.

``settings.py`` takes every name of this module (``from ... import *``); like it, they are read
from the environment (and the ``.env`` file it loaded), and every variable is listed in
``.env.example``. A wrong value stops the start with ``ImproperlyConfigured``.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured as _Improper

from pawfile.lib.env import Env as _Env

_env = _Env()

# --- Notifications (pawfile/notifications) ---------------------------------------------------
# One switch per channel; a channel that is off is not offered and sends nothing.
NOTIFY_INAPP_ENABLED = _env.bool("NOTIFY_INAPP_ENABLED", True)
NOTIFY_EMAIL_ENABLED = _env.bool("NOTIFY_EMAIL_ENABLED", True)
# The local hour (in each person's zone) at which the daily digest is sent.
NOTIFY_DIGEST_HOUR = _env.int("NOTIFY_DIGEST_HOUR", 8, minimum=0)
if NOTIFY_DIGEST_HOUR > 23:
    raise _Improper("NOTIFY_DIGEST_HOUR must be 0 to 23")
# Apprise (notifications/channels/apprise.py): people add their own Apprise URLs (ntfy,
# Telegram, Matrix, Discord...) as a channel. Targets on private addresses are refused
# unless APPRISE_ALLOW_PRIVATE; APPRISE_TIMEOUT (seconds) bounds connecting and each read.
APPRISE_ENABLED = _env.bool("APPRISE_ENABLED", True)
APPRISE_ALLOW_PRIVATE = _env.bool("APPRISE_ALLOW_PRIVATE", False)
APPRISE_TIMEOUT = _env.int("APPRISE_TIMEOUT", 10, minimum=1)

# Pet updates between people (notifications/updates.py): at most PET_UPDATE_RATE updates per
# sender ("count/seconds"); "Draft it for me" asks an AI provider (notifications/ai.py) when
# AI_ENABLED: "openai" (any OpenAI-compatible chat completions API) or "gemini".
PET_UPDATE_RATE = _env.str("PET_UPDATE_RATE", "10/3600")
AI_ENABLED = _env.bool("AI_ENABLED", False)
AI_PROVIDER = _env.str("AI_PROVIDER", "openai").lower()
if AI_PROVIDER not in {"openai", "gemini"}:
    raise _Improper(f"AI_PROVIDER must be openai or gemini, got {AI_PROVIDER!r}")
AI_API_KEY = _env.secret("AI_API_KEY")
AI_MODEL = _env.str("AI_MODEL", "gpt-4o-mini" if AI_PROVIDER == "openai" else "gemini-2.0-flash")
AI_BASE_URL = _env.url(
    "AI_BASE_URL",
    "https://api.openai.com/v1"
    if AI_PROVIDER == "openai"
    else "https://generativelanguage.googleapis.com",
)
try:
    AI_TIMEOUT = float(_env.str("AI_TIMEOUT", "8"))
except ValueError:
    raise _Improper("AI_TIMEOUT must be a number of seconds") from None
if not 0 < AI_TIMEOUT <= 120:
    raise _Improper("AI_TIMEOUT must be more than 0 and at most 120 seconds")

# Push (notifications/channels/webpush.py and fcm.py, notifications/devices.py). Web push
# signs with a VAPID key: WEBPUSH_VAPID_PRIVATE_KEY (or _FILE; PEM or raw base64url), else
# one generated on first use into PAWFILE_DATA_DIR/vapid_private.pem (mode 600). Every web
# and worker node must use the same key (browsers subscribed with its public half): on
# several nodes set it (``check --deploy`` warns in production with Redis and no key).
WEBPUSH_ENABLED = _env.bool("WEBPUSH_ENABLED", True)
WEBPUSH_VAPID_PRIVATE_KEY = _env.secret("WEBPUSH_VAPID_PRIVATE_KEY")
# The VAPID "sub" claim push services use to reach the operator (mailto: or https:);
# default mailto: DEFAULT_FROM_EMAIL's address.
WEBPUSH_VAPID_SUBJECT = _env.str("WEBPUSH_VAPID_SUBJECT", "")
# Mobile push through Firebase Cloud Messaging's HTTP v1 API with a service account.
FCM_ENABLED = _env.bool("FCM_ENABLED", False)
FCM_SERVICE_ACCOUNT_FILE = _env.str("FCM_SERVICE_ACCOUNT_FILE", "")
# Default: the service account file's project_id.
FCM_PROJECT_ID = _env.str("FCM_PROJECT_ID", "")
FCM_ENDPOINT = _env.url("FCM_ENDPOINT", "https://fcm.googleapis.com", schemes=("http", "https"))
if FCM_ENABLED and not FCM_SERVICE_ACCOUNT_FILE:
    raise _Improper("FCM_ENABLED needs FCM_SERVICE_ACCOUNT_FILE")
# Seconds each push request may take (keep it well under PAWFILE_OUTBOX_LEASE).
PUSH_TIMEOUT = _env.int("PUSH_TIMEOUT", 10, minimum=1)
# Push services live on the public internet; only tests and labs allow private addresses.
PUSH_ALLOW_PRIVATE_ADDRESSES = _env.bool("PUSH_ALLOW_PRIVATE_ADDRESSES", False)
# A device (browser or app) not seen for this many days is removed.
PAWFILE_DEVICE_INACTIVE_DAYS = _env.int("PAWFILE_DEVICE_INACTIVE_DAYS", 90, minimum=1)

# WhatsApp Cloud API (notifications/channels/whatsapp.py): reminders as template messages,
# phone verification codes, the two-way webhook at /hooks/whatsapp.
WHATSAPP_ENABLED = _env.bool("WHATSAPP_ENABLED", False)
WHATSAPP_TOKEN = _env.secret("WHATSAPP_TOKEN")
WHATSAPP_PHONE_NUMBER_ID = _env.str("WHATSAPP_PHONE_NUMBER_ID")
WHATSAPP_APP_SECRET = _env.secret("WHATSAPP_APP_SECRET")
WHATSAPP_VERIFY_TOKEN = _env.secret("WHATSAPP_VERIFY_TOKEN")
WHATSAPP_API_BASE = _env.url("WHATSAPP_API_BASE", "https://graph.facebook.com/v21.0")
# An approved template with two body parameters (title, text) and two quick-reply buttons
# (Done, Snooze 1 h); without one, reminders go as interactive messages (24 h window only).
# WHATSAPP_TEMPLATE_LANG: the languages the templates exist in, e.g. "en_US,es" (the
# recipient's is used, else the first).
WHATSAPP_TEMPLATE_REMINDER = _env.str("WHATSAPP_TEMPLATE_REMINDER")
WHATSAPP_TEMPLATE_LANG = _env.str("WHATSAPP_TEMPLATE_LANG", "en")
# An approved authentication template for the verification code (optional, see docs).
WHATSAPP_TEMPLATE_CODE = _env.str("WHATSAPP_TEMPLATE_CODE")
if WHATSAPP_ENABLED and not (WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_APP_SECRET):
    raise _Improper(
        "WHATSAPP_ENABLED needs WHATSAPP_TOKEN, WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_APP_SECRET"
    )
# SMS through Twilio's REST API (notifications/channels/sms.py).
SMS_ENABLED = _env.bool("SMS_ENABLED", False)
TWILIO_ACCOUNT_SID = _env.str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = _env.secret("TWILIO_AUTH_TOKEN")
TWILIO_FROM = _env.str("TWILIO_FROM")
TWILIO_MESSAGING_SERVICE_SID = _env.str("TWILIO_MESSAGING_SERVICE_SID")
TWILIO_API_BASE = _env.url("TWILIO_API_BASE", "https://api.twilio.com")
# Text messages per person per calendar month (UTC); over it, nothing more is sent that month.
SMS_MONTHLY_LIMIT = _env.int("SMS_MONTHLY_LIMIT", 100, minimum=0)
# Text messages per person per hour (count/seconds), and verification codes per person.
SMS_RATELIMIT = _env.str("SMS_RATELIMIT", "20/3600")
PHONE_CODE_RATELIMIT = _env.str("PHONE_CODE_RATELIMIT", "5/3600")
if SMS_ENABLED and not (
    TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and (TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID)
):
    raise _Improper(
        "SMS_ENABLED needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM "
        "(or TWILIO_MESSAGING_SERVICE_SID)"
    )

# --- Reminders (pawfile/reminders) ----------------------------------------------------------
# How late a reminder may still be sent after its time (the server was down): "6h", "90m",
# "2d" or seconds. Older occurrences are recorded as missed instead.
_grace = _env.str("PAWFILE_REMINDER_GRACE", "6h").strip().lower()
_grace_units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
try:
    PAWFILE_REMINDER_GRACE = (
        int(_grace[:-1]) * _grace_units[_grace[-1]] if _grace[-1:] in _grace_units else int(_grace)
    )
except ValueError:
    raise _Improper(
        "PAWFILE_REMINDER_GRACE must be a duration such as 6h, 90m, 2d or seconds"
    ) from None
if PAWFILE_REMINDER_GRACE < 60:
    raise _Improper("PAWFILE_REMINDER_GRACE must be at least one minute")

# --- Wallet passes (pawfile/documents/wallet) -----------------------------------------------
# Apple Wallet: the pass type id and team id of the Apple developer account, the pass
# certificate and its private key (PEM; the key's password, or _FILE), and Apple's WWDR
# intermediate certificate (PEM or DER). Unset: the pet page says what to set.
WALLET_APPLE_PASS_TYPE_ID = _env.str("WALLET_APPLE_PASS_TYPE_ID")
WALLET_APPLE_TEAM_ID = _env.str("WALLET_APPLE_TEAM_ID")
WALLET_APPLE_CERT_PATH = _env.str("WALLET_APPLE_CERT_PATH")
WALLET_APPLE_KEY_PATH = _env.str("WALLET_APPLE_KEY_PATH")
WALLET_APPLE_KEY_PASSWORD = _env.secret("WALLET_APPLE_KEY_PASSWORD")
WALLET_APPLE_WWDR_PATH = _env.str("WALLET_APPLE_WWDR_PATH")
# Google Wallet: the issuer id of the Google Pay & Wallet console, the service account's JSON
# key file, and the suffix of the generic pass class ("<issuer>.<suffix>").
WALLET_GOOGLE_ISSUER_ID = _env.str("WALLET_GOOGLE_ISSUER_ID")
WALLET_GOOGLE_KEY_FILE = _env.str("WALLET_GOOGLE_KEY_FILE")
WALLET_GOOGLE_CLASS_SUFFIX = _env.str("WALLET_GOOGLE_CLASS_SUFFIX", "pawfile_pet")
