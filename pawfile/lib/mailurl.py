"""Turn ``EMAIL_URL`` into Django email settings.

Accepted forms: ``smtp://user:pass@host:25``, ``smtp+tls://…:587`` (STARTTLS),
``smtps://…:465`` (implicit TLS), ``console://`` and ``file:///path/to/dir``.
User and password are URL-decoded, so ``%40`` stands for ``@``.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def email_settings_from_url(url: str) -> dict[str, object]:
    """Return the ``EMAIL_*`` settings for ``url``; raise ``ImproperlyConfigured`` if unknown."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": parts.path,
        }
    if scheme not in {"smtp", "smtp+tls", "smtps"}:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme {scheme!r} is not one of smtp, smtp+tls, smtps, console, file"
        )
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL needs a host, like smtp://mail.example.org:587")
    default_port = {"smtp": 25, "smtp+tls": 587, "smtps": 465}[scheme]
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": parts.port or default_port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": scheme == "smtp+tls",
        "EMAIL_USE_SSL": scheme == "smtps",
        "EMAIL_TIMEOUT": 10,
    }
