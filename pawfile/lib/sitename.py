"""The site as mails and pages name it: ``PAWFILE_SITE_NAME`` at the host of
``PAWFILE_BASE_URL``.

Pawfile does not install ``django.contrib.sites``; without it Django's
``get_current_site`` names the site after the request's host, and a mail rendered outside a
request (allauth's, ours) would name nothing ("Hello from !"). Mails take ``site_current()``
instead, the same in a request, a task or the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


@dataclass(frozen=True)
class SiteName:
    """What allauth's templates read as ``current_site``: ``name`` and ``domain``."""

    name: str
    domain: str

    def __str__(self) -> str:
        return self.domain


def site_current() -> SiteName:
    """The configured site: its name and the host (with port, if any) of its base URL."""
    return SiteName(
        name=settings.PAWFILE_SITE_NAME, domain=urlsplit(settings.PAWFILE_BASE_URL).netloc
    )
