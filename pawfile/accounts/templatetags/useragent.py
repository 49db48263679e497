"""``{{ session.user_agent|device_label }}``: "Firefox on Android" instead of a raw user agent."""

from __future__ import annotations

from functools import lru_cache

import ua_parser
from django import template
from django.utils.translation import gettext

register = template.Library()

UNKNOWN = "Other"


@lru_cache(maxsize=512)
def _families(user_agent: str) -> tuple[str, str, str]:
    parsed = ua_parser.parse(user_agent[:500])
    browser = parsed.user_agent.family if parsed.user_agent else UNKNOWN
    system = parsed.os.family if parsed.os else UNKNOWN
    device = parsed.device.family if parsed.device else UNKNOWN
    return browser, system, device


@register.filter
def device_label(user_agent: str | None) -> str:
    """The browser and system a person recognises; the start of the raw string when the
    parser knows neither, and "Unknown device" when there is none."""
    if not user_agent:
        return gettext("Unknown device")
    browser, system, _device = _families(user_agent)
    if browser == UNKNOWN and system == UNKNOWN:
        return user_agent[:60]
    if system == UNKNOWN:
        return browser
    if browser == UNKNOWN:
        return system
    return gettext("%(browser)s on %(system)s") % {"browser": browser, "system": system}
