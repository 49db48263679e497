"""Writes of the QR codes app: create, change, delete generic codes.

Every function takes the acting user (keyword-only), checks ``access.manager_check``,
validates everything (``targets.target_url_clean``, ``style.style_clean``), writes in one
transaction and bumps the redirect generation in it, so every process serves the change
within a second of the commit (see ``redirect``). Refusals are ``lib.errors`` errors.
"""

from __future__ import annotations

import datetime as dt
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pawfile.lib.errors import Invalid, NotFound
from pawfile.lib.storage import files_delete_on_commit
from pawfile.lib.text import plain_line
from pawfile.qr import access
from pawfile.qr.choices import ErrorLevel, TargetKind
from pawfile.qr.generation import generation_bump
from pawfile.qr.ids import code_id_new
from pawfile.qr.images import logo_prepare
from pawfile.qr.models import QRCode
from pawfile.qr.style import style_clean
from pawfile.qr.targets import target_url_clean

STYLE_FIELDS = ("fg_color", "bg_color", "module_size", "quiet_zone", "error_level", "frame_text")
CHANGEABLE = ("title", "target_url", "is_active", "expires_at", "scan_limit", *STYLE_FIELDS)
MAX_SCAN_LIMIT = 2_000_000_000


def _title_clean(title: str) -> str:
    title = plain_line(title.strip(), field="title")
    if not title:
        raise Invalid(_("Give the code a title."), field="title")
    if len(title) > 120:
        raise Invalid(_("At most %(max)d characters.") % {"max": 120}, field="title")
    return title


def _limits_check(*, expires_at: dt.datetime | None, scan_limit: int | None, created: bool) -> None:
    if expires_at is not None and timezone.is_naive(expires_at):
        raise Invalid(_("Give the expiry with its time zone."), field="expires_at")
    if created and expires_at is not None and expires_at <= timezone.now():
        raise Invalid(_("The expiry must be in the future."), field="expires_at")
    if scan_limit is not None and not 1 <= scan_limit <= MAX_SCAN_LIMIT:
        raise Invalid(_("The scan limit must be at least 1."), field="scan_limit")


def _apply(code: QRCode, values: dict[str, Any], *, created: bool) -> None:
    if "title" in values:
        code.title = _title_clean(values["title"])
    if "target_url" in values:
        code.target_url = target_url_clean(values["target_url"])
        code.target_kind = TargetKind.URL
    if "is_active" in values:
        code.is_active = bool(values["is_active"])
    if "expires_at" in values:
        code.expires_at = values["expires_at"]
    if "scan_limit" in values:
        code.scan_limit = values["scan_limit"]
    _limits_check(expires_at=code.expires_at, scan_limit=code.scan_limit, created=created)
    style = style_clean(
        **{name: values.get(name, getattr(code, name)) for name in STYLE_FIELDS},
        has_logo=bool(code.logo),
    )
    for name in STYLE_FIELDS:
        setattr(code, name, getattr(style, name))


def _logo_store(code: QRCode, upload: IO[bytes]) -> str:
    data = logo_prepare(upload)
    return default_storage.save(f"qr/logos/{code.id}-{code.revision}.png", ContentFile(data))


def code_create(
    *,
    actor: Any,
    title: str,
    target_url: str,
    is_active: bool = True,
    expires_at: dt.datetime | None = None,
    scan_limit: int | None = None,
    fg_color: str = "#000000",
    bg_color: str = "#ffffff",
    module_size: int = 10,
    quiet_zone: int = 4,
    error_level: str = ErrorLevel.M,
    frame_text: str = "",
    logo: IO[bytes] | None = None,
) -> QRCode:
    """A new generic code owned by ``actor`` (a QR manager), leading to ``target_url``.

    Raises ``Forbidden`` for a non-manager, ``Invalid`` (with the field) for a bad title,
    target, expiry, limit, style or logo."""
    access.manager_check(actor, collection=True)
    code = QRCode(owner_user=actor, target_kind=TargetKind.URL)
    values = {
        "title": title,
        "target_url": target_url,
        "is_active": is_active,
        "expires_at": expires_at,
        "scan_limit": scan_limit,
        "fg_color": fg_color,
        "bg_color": bg_color,
        "module_size": module_size,
        "quiet_zone": quiet_zone,
        "error_level": error_level,
        "frame_text": frame_text,
    }
    code.logo = "pending" if logo is not None else ""
    _apply(code, values, created=True)
    for _attempt in range(5):
        code.id = code_id_new()
        try:
            with transaction.atomic():
                if logo is not None:
                    code.logo = _logo_store(code, logo)
                    logo = None
                code.save(force_insert=True)
                generation_bump()
            return code
        except IntegrityError:  # an id already taken (1 in 10^14 per code): draw again
            continue
    raise RuntimeError("no free QR code id after five tries")


def code_update(
    *,
    actor: Any,
    code_id: str,
    logo: IO[bytes] | None = None,
    remove_logo: bool = False,
    **changes: Any,
) -> QRCode:
    """Change what ``changes`` names (any of ``CHANGEABLE``), replace or remove the logo.

    Raises ``NotFound`` for a non-manager or an unknown code, ``Invalid`` as ``code_create``.
    A change of the style or logo bumps ``revision`` (a new image ETag)."""
    access.manager_check(actor)
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise Invalid(_("Unknown field."), fields={name: [_("Unknown field.")] for name in unknown})
    with transaction.atomic():
        code = _managed_for_update(code_id)
        old_logo = code.logo
        if remove_logo:
            code.logo = ""
        if logo is not None:
            code.logo = "pending"
        _apply(code, changes, created=False)
        if logo is not None or remove_logo or set(changes) & set(STYLE_FIELDS):
            code.revision += 1
        if logo is not None:
            code.logo = _logo_store(code, logo)
        if old_logo and old_logo != code.logo:
            files_delete_on_commit([old_logo])
        code.save()
        generation_bump()
    return code


def code_delete(*, actor: Any, code_id: str) -> None:
    """Delete the code, its scans and logo. ``NotFound`` for a non-manager or unknown code."""
    access.manager_check(actor)
    with transaction.atomic():
        code = _managed_for_update(code_id)
        if code.logo:
            files_delete_on_commit([code.logo])
        code.delete()
        generation_bump()


def _managed_for_update(code_id: str) -> QRCode:
    code = QRCode.objects.select_for_update().filter(pk=code_id, household__isnull=True).first()
    if code is None:
        raise NotFound(_("No such QR code."))
    return code
