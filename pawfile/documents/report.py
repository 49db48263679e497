"""The pet health report as a PDF: built with Typst, cached until the pet's data changes.

``report_pdf(user=..., pet_id=..., lang=...)`` is the one entry point; ``report_get`` also
returns the pet (for the download's file name). Access goes through ``pet_get``: a stranger
gets ``Http404``; every member role, viewer included, may download.

Caching: the PDF bytes are kept in Django's cache (Redis in scale-out, so every web node
shares them; in-process memory when embedded) for a day. A report is a few hundred KB at
most, well within what either backend holds comfortably, and the cache expires entries by
itself — files under ``MEDIA_ROOT`` would need a sweeper and, on a bucket, a network round
trip per read. The key holds everything the PDF depends on:

* ``pet.revision``, which the pets and health services bump on every change to the pet,
  its records, photos, notes and linked contacts;
* the household owner's name, email and phone (shown in the report, not covered by the
  revision);
* the language and the reader's date, in their own time zone (due statuses, the age and
  the generation date change with the day);
* a fingerprint of the template, the fonts, the data builder and the Typst version, so a
  new release never serves a PDF laid out by the old one.

Output is reproducible: only the fonts shipped in ``fonts/`` (and Typst's own built-in
fonts, as a fallback for glyphs Inter lacks) are used, never the system's, and the PDF's
creation date is the report's date, not the clock.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typst
from django.conf import settings
from django.core.cache import cache

from pawfile.accounts.models import User
from pawfile.documents import report_data as report_data_module
from pawfile.documents.report_data import (
    ReportInput,
    owner_contact,
    owner_members,
    report_data,
)
from pawfile.lib.dates import user_today
from pawfile.pets.models import Pet
from pawfile.pets.selectors import pet_get

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATE = PACKAGE_DIR / "typst" / "health_report.typ"
FONT_DIR = PACKAGE_DIR / "fonts"
LANGUAGES = ("en", "es")  # the template's ``strings`` table has these
CACHE_TTL = 24 * 3600
PHOTO_NAME = "photo.jpg"


@dataclass(frozen=True)
class HealthReport:
    pet: Pet
    pdf: bytes


def report_language(code: str | None) -> str:
    """The report language for a Django language code (``es-ar`` → ``es``; unknown → ``en``)."""
    base = (code or settings.LANGUAGE_CODE).split("-")[0].lower()
    return base if base in LANGUAGES else "en"


@functools.cache
def template_version() -> str:
    """A fingerprint of everything that shapes the PDF besides the data."""
    digest = hashlib.sha256()
    sources = [TEMPLATE, Path(report_data_module.__file__), *sorted(FONT_DIR.glob("*.ttf"))]
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(getattr(typst, "__version__", "").encode())
    return digest.hexdigest()[:16]


@functools.cache
def _fonts() -> typst.Fonts:
    # Scanning the font folder once per process keeps a compile to the layout work.
    return typst.Fonts(
        include_system_fonts=False, include_embedded_fonts=True, font_paths=[str(FONT_DIR)]
    )


@functools.cache
def _template_source() -> bytes:
    return TEMPLATE.read_bytes()


def report_cache_key(*, pet: Pet, lang: str, today: dt.date, owner: dict[str, str] | None) -> str:
    owner_part = hashlib.sha256(json.dumps(owner, sort_keys=True).encode()).hexdigest()[:12]
    return (
        f"pawfile:report:{pet.pk}:{pet.revision}:{lang}:{today.isoformat()}:"
        f"{owner_part}:{template_version()}"
    )


def report_render(report: ReportInput, *, today: dt.date) -> bytes:
    """Compile the template with ``report``'s data. Raises ``typst.TypstError`` on failure.

    The template and the photo are copied to a private temporary folder that is the
    compile's root, so the template can read nothing else on disk. A photo Typst cannot
    read (a damaged file) costs the photo, not the report.
    """
    try:
        return _compile(report.data, report.photo, today)
    except typst.TypstError:
        if report.photo is None:
            raise
        log.warning("report photo could not be used", exc_info=True)
        return _compile(report.data, None, today)


def _compile(data: dict[str, Any], photo: bytes | None, today: dt.date) -> bytes:
    with tempfile.TemporaryDirectory(prefix="pawfile-report-") as folder:
        root = Path(folder)
        main = root / TEMPLATE.name
        main.write_bytes(_template_source())
        if photo is not None:
            (root / PHOTO_NAME).write_bytes(photo)
        inputs = {"data": json.dumps({**data, "photo": f"/{PHOTO_NAME}" if photo else None})}
        stamp = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
        pdf, warnings = typst.compile_with_warnings(
            main,
            root=root,
            font_paths=_fonts(),
            ignore_system_fonts=True,
            format="pdf",
            sys_inputs=inputs,
            timestamp=stamp,
        )
    for warning in warnings:
        log.warning("report template warning: %s", warning.message)
    assert isinstance(pdf, bytes)
    return pdf


def report_get(*, user: User, pet_id: int, lang: str | None) -> HealthReport:
    """The pet and its report PDF in ``lang``, from the cache when nothing changed.

    Raises ``Http404`` when ``user`` may not see the pet.
    """
    pet = pet_get(user=user, pet_id=pet_id)
    lang = report_language(lang)
    today = user_today(user)
    members = owner_members(user=user, pet=pet)
    data_owner = owner_contact(members)
    key = report_cache_key(pet=pet, lang=lang, today=today, owner=data_owner)
    pdf = cache.get(key)
    if not isinstance(pdf, bytes):
        content = report_data(user=user, pet=pet, lang=lang, today=today, members=members)
        pdf = report_render(content, today=today)
        cache.set(key, pdf, CACHE_TTL)
    return HealthReport(pet=pet, pdf=pdf)


def report_pdf(*, user: User, pet_id: int, lang: str | None) -> bytes:
    """The report PDF of pet ``pet_id`` for ``user`` in ``lang`` (see ``report_get``)."""
    return report_get(user=user, pet_id=pet_id, lang=lang).pdf
