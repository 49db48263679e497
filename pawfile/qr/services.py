"""Writes of the QR codes app: generic codes, pets' tags.

Generic codes (``code_*``) are made by QR managers: every function takes the acting user
(keyword-only), checks ``access.manager_check``, validates everything
(``targets.target_url_clean``, ``style.style_clean``), writes in one transaction and
bumps the redirect generation in it, so every process serves the change within a second
of the commit (see ``redirect``). Refusals are ``lib.errors`` errors.

Pet tags (``pet_code_*``) belong to a household and lead to a pet's public page
(``petpage.pet_page_path``). Whoever may change the pet (``Action.WRITE``: the household's
owner or caretaker, or a write grant) makes, links and unlinks them; a viewer gets
``Forbidden``, anyone else ``NotFound``. An unlinked tag keeps its id and household and
leads to the "not linked yet" page (``/t/{id}``) until it is linked again. Claiming a
pre-printed tag is ``pet_code_link`` on a code of no household (see ``claim``). The pet page
counts a pet's tags in a panel cached by the pet's revision: every function that adds a tag
to a pet or takes one away bumps the revision of that pet (``_pets_touched``).
"""

from __future__ import annotations

import datetime as dt
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pawfile.accounts.access import Action, household_access
from pawfile.lib.errors import Conflict, Invalid, NotFound, TooMany
from pawfile.lib.ratelimit import Rule, ratelimit_hits
from pawfile.lib.storage import files_delete_on_commit
from pawfile.lib.text import plain_line
from pawfile.pets.models import Pet
from pawfile.pets.selectors import pet_checked, pet_get
from pawfile.pets.services import pet_revision_bump
from pawfile.qr import access
from pawfile.qr.choices import ErrorLevel, TargetKind
from pawfile.qr.generation import generation_bump
from pawfile.qr.ids import code_id_new
from pawfile.qr.images import logo_prepare
from pawfile.qr.models import QRCode
from pawfile.qr.petpage import pet_page_path
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
    code = (
        QRCode.objects.select_for_update()
        .filter(pk=code_id, household__isnull=True, target_kind=TargetKind.URL)
        .first()
    )
    if code is None:
        raise NotFound(_("No such QR code."))
    return code


# -- Pet tags ---------------------------------------------------------------------------------


def _pets_touched(*pet_ids: Any) -> None:
    """Bump the revision of each pet a tag was added to or taken from (``None``: none)."""
    for pet_id in sorted({int(p) for p in pet_ids if p is not None}):
        pet_revision_bump(pet_id)


def _default_title(pet: Pet) -> str:
    return (_("%(name)s tag") % {"name": pet.name})[:120]


def _pet_writable(actor: Any, pet: Pet) -> Pet:
    return pet_checked(user=actor, pet=pet, action=Action.WRITE)


def _insert_with_new_id(code: QRCode) -> QRCode:
    for _attempt in range(5):
        code.id = code_id_new()
        try:
            with transaction.atomic():
                code.save(force_insert=True)
                generation_bump()
            return code
        except IntegrityError:  # an id already taken: draw again
            continue
    raise RuntimeError("no free QR code id after five tries")


def pet_code_create(
    *,
    actor: Any,
    pet: Pet,
    title: str = "",
    fg_color: str = "#000000",
    bg_color: str = "#ffffff",
    module_size: int = 10,
    quiet_zone: int = 4,
    error_level: str = ErrorLevel.M,
    frame_text: str = "",
) -> QRCode:
    """A new tag of ``pet`` in its household, leading to the pet's public page.

    ``title`` defaults to "<pet name> tag". Raises ``NotFound`` (a stranger) or
    ``Forbidden`` (a viewer) from the access rule, ``Invalid`` for a bad title or style."""
    pet = _pet_writable(actor, pet)
    code = QRCode(
        household_id=pet.household_id,
        target_kind=TargetKind.PET_PAGE,
        target_ref=pet.pk,
        target_url=pet_page_path(pet),
        title=_title_clean(title or _default_title(pet)),
    )
    style = style_clean(
        fg_color=fg_color,
        bg_color=bg_color,
        module_size=module_size,
        quiet_zone=quiet_zone,
        error_level=error_level,
        frame_text=frame_text,
        has_logo=False,
    )
    for name in STYLE_FIELDS:
        setattr(code, name, getattr(style, name))
    with transaction.atomic():
        code = _insert_with_new_id(code)
        _pets_touched(pet.pk)
    return code


def _tag_for_update(actor: Any, code_id: str) -> QRCode:
    """A household's tag the actor may change (locked). A generic code, an unclaimed tag,
    a tag of a household the actor is a stranger to: ``NotFound``; a viewer: ``Forbidden``."""
    code = (
        QRCode.objects.select_for_update()
        .filter(pk=code_id, household__isnull=False)
        .exclude(target_kind=TargetKind.URL)
        .first()
    )
    if code is None or code.household_id is None:  # household_id: for the type checker
        raise NotFound(_("No such QR code."))
    household_access(user=actor, household_id=code.household_id, action=Action.WRITE)
    return code


def _link(code: QRCode, pet: Pet) -> None:
    code.target_kind = TargetKind.PET_PAGE
    code.target_ref = pet.pk
    code.target_url = pet_page_path(pet)
    code.household_id = pet.household_id


def claim_limit_check(actor: Any, client_address: str | None = None) -> None:
    """Count one claim of a pre-printed tag against ``PAWFILE_QR_CLAIM_RATELIMIT_USER`` for
    ``actor`` (and ``PAWFILE_QR_CLAIM_RATELIMIT_IP`` for ``client_address``, when given);
    ``TooMany`` once either is used up. Every way to claim passes here (``pet_code_link``
    counts the user; the claim page counts the address first)."""
    hits = []
    if actor is not None:
        rule = Rule.parse(settings.PAWFILE_QR_CLAIM_RATELIMIT_USER)
        hits.append(("qr-claim-user", str(actor.pk), rule))
    if client_address is not None:
        rule = Rule.parse(settings.PAWFILE_QR_CLAIM_RATELIMIT_IP)
        hits.append(("qr-claim-ip", client_address, rule))
    refused = [d for d in ratelimit_hits(hits) if not d.allowed]
    if refused:
        minutes = max(1, -(-max(d.reset for d in refused) // 60))
        raise TooMany(
            _("Too many tags claimed. Try again in %(minutes)d minutes.") % {"minutes": minutes}
        )


def pet_code_link(*, actor: Any, code_id: str, pet: Pet) -> QRCode:
    """Point a tag at ``pet``: relink one of the actor's households' tags (linked to
    another pet or unlinked), or claim a pre-printed tag nobody has claimed yet.

    The actor must be able to change ``pet`` and, for a household's tag, that household
    (so a tag moves between two households only by someone who may write in both).
    Claiming is one conditional ``UPDATE`` (unclaimed → claimed), so of two people
    claiming the same tag at once exactly one wins; the other gets ``Conflict``. A claim
    counts against the actor's claim limit (``claim_limit_check``: ``TooMany``).
    Raises ``NotFound`` for an unknown id or a code the actor may not see, ``Forbidden``
    for a viewer, ``Conflict`` for a tag claimed by someone else meanwhile."""
    pet = _pet_writable(actor, pet)
    with transaction.atomic():
        unclaimed = QRCode.objects.filter(
            pk=code_id, household__isnull=True, owner_user__isnull=True
        )
        found = unclaimed.values_list("target_kind", flat=True).first()
        if found is not None:
            if found != TargetKind.UNCLAIMED:
                raise NotFound(_("No such QR code."))
            claim_limit_check(actor)
            now = timezone.now()
            won = unclaimed.filter(target_kind=TargetKind.UNCLAIMED).update(
                target_kind=TargetKind.PET_PAGE,
                target_ref=pet.pk,
                target_url=pet_page_path(pet),
                household_id=pet.household_id,
                claimed_by=actor,
                claimed_at=now,
                title=_default_title(pet),
                updated_at=now,
            )
            if not won:
                raise Conflict(_("This tag has just been claimed by someone else."))
            generation_bump()
            _pets_touched(pet.pk)
            return QRCode.objects.get(pk=code_id)
        code = _tag_for_update(actor, code_id)
        before = code.target_ref if code.target_kind == TargetKind.PET_PAGE else None
        _link(code, pet)
        code.save()
        generation_bump()
        _pets_touched(before, pet.pk)
    return code


def pet_code_unlink(*, actor: Any, code_id: str) -> QRCode:
    """Detach a tag from its pet: it keeps its id and household and leads to the "not
    linked yet" page until it is linked again. Raises as ``pet_code_link``."""
    with transaction.atomic():
        code = _tag_for_update(actor, code_id)
        before = code.target_ref if code.target_kind == TargetKind.PET_PAGE else None
        code.target_kind = TargetKind.UNCLAIMED
        code.target_ref = None
        code.target_url = ""
        code.save()
        generation_bump()
        _pets_touched(before)
    return code


def pet_code_delete(*, actor: Any, code_id: str) -> None:
    """Delete a household's tag and its scans. Raises as ``pet_code_link``."""
    with transaction.atomic():
        code = _tag_for_update(actor, code_id)
        before = code.target_ref if code.target_kind == TargetKind.PET_PAGE else None
        if code.logo:
            files_delete_on_commit([code.logo])
        code.delete()
        generation_bump()
        _pets_touched(before)


def pet_codes_retarget(pet: Pet) -> int:
    """Re-point every tag of ``pet`` at its page's current path (the lost-pet app calls
    this after a pet's page moved, e.g. a new slug). No access check: a hook for the app
    that changed the page. Returns how many tags changed."""
    path = pet_page_path(pet)
    with transaction.atomic():
        changed = (
            QRCode.objects.filter(target_kind=TargetKind.PET_PAGE, target_ref=pet.pk)
            .exclude(target_url=path)
            .update(target_url=path, updated_at=timezone.now())
        )
        if changed:
            generation_bump()
    return changed


def pet_codes_detach(pet_ids: list[int]) -> int:
    """Unlink every tag of these pets (they are being deleted): the tags stay with their
    household, leading to the "not linked yet" page. No access check (a deletion hook)."""
    changed = QRCode.objects.filter(target_kind=TargetKind.PET_PAGE, target_ref__in=pet_ids).update(
        target_kind=TargetKind.UNCLAIMED,
        target_ref=None,
        target_url="",
        updated_at=timezone.now(),
    )
    if changed:
        generation_bump()
    return changed


def pet_for_tag(*, actor: Any, pet_id: int) -> Pet:
    """The pet ``actor`` may put a tag on (``Action.WRITE``), for views and the API."""
    return pet_get(user=actor, pet_id=pet_id, action=Action.WRITE)
