"""The public page's rendered body in the shared cache.

Key: the slug, the profile's ``revision`` (every change of the owner's choices and of lost
mode), the pet's ``revision`` (every change of the pet, its photos, contacts and health
records: the pets and health services bump it), the language, the theme (the page's
``<html data-theme>``) and the date (the age and which medications are current move with
it). So an entry is never invalidated by hand: a change makes a new key, and the old entry
ages out after ``TTL``. Reading the two revisions is one small indexed query
(``selectors.page_stamp``); a hit costs that query and one cache read.

A change the two revisions do not follow (none today) calls ``services.profile_bump`` through
a hook of the app that made it.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.core.cache import cache

TTL = 24 * 3600
VERSION = 2  # bump when the page (public_html.py) changes shape


def page_key(
    *, slug: str, stamp: tuple[int, int, int], language: str, theme: str, today: dt.date
) -> str:
    _pk, profile_revision, pet_revision = stamp
    return (
        f"lostpet:page:{VERSION}:{slug}:{profile_revision}:{pet_revision}:"
        f"{language}:{theme}:{today.isoformat()}"
    )


def page_etag(key: str) -> str:
    """The page's strong ``ETag`` for ``key`` (the view and the layer in front give the same)."""
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:24] + '"'


def page_get(key: str) -> bytes | None:
    body = cache.get(key)
    return body if isinstance(body, bytes) else None


def page_set(key: str, body: bytes) -> None:
    cache.set(key, body, TTL)
