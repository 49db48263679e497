"""Data exports: a zip of everything a user owns or shares, built in the background.

Life of an export (``DataExport.status``)::

    pending --build--> ready --download once--> downloaded
       |                 `--48 h pass---------> expired
       `--build fails--> failed

``data_export_request`` makes the row and enqueues the build after commit. The build writes
``exports/<user id>/<export id>-<random>.zip`` to the default storage (never publicly served),
then mails a link that carries a signed ``{export id, random token}``; the row keeps only the
token's SHA-256. The link works once, for the same signed-in user, for 48 hours. The file is
deleted when the download stream closes (``DeleteOnClose``); ``data_exports_expire`` removes
whatever is left behind. The archive's format (``export_document``) is described in
``docs/export-format.md``; change both together and bump ``FORMAT_VERSION`` when a field
changes meaning or goes away.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
import tempfile
import zipfile
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from pawfile.accounts.models import User
from pawfile.lib import registry
from pawfile.lib.registry import ArchiveFile
from pawfile.lib.storage import files_delete_on_commit
from pawfile.lib.tasks import enqueue_on_commit
from pawfile.outbox.mail import mail_enqueue
from pawfile.privacy.models import DataExport, DataExportStatus

log = logging.getLogger(__name__)

EXPORT_SALT = "pawfile.accounts.data_export"  # kept from before the move: links stay valid
EXPORT_LINK_MAX_AGE = 48 * 3600
EXPORTS_DIR = "exports"
# A build that has not finished after this long died with its worker; a new request may start.
PENDING_STALE_AFTER = timedelta(hours=2)
# Rows are kept this long for the "Your data" page, then removed.
ROW_KEEP = timedelta(days=30)
# Files of downloaded exports are normally deleted when the stream closes; a worker killed
# mid-stream leaves one behind, which the sweeper removes after this grace period.
DOWNLOADED_FILE_GRACE = timedelta(hours=6)
_STORED_SUFFIXES = (".jpeg", ".jpg", ".png", ".webp", ".pdf", ".zip")


class ExportError(Exception):
    """A request for an export that cannot be granted now; ``str(error)`` is for the person."""


class ExportLinkGone(Exception):
    """A genuine download link that no longer works (expired or already used): HTTP 410."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- What goes in the archive ------------------------------------------------------------------

FORMAT_VERSION = 1


def export_document(*, user: User) -> tuple[dict[str, Any], list[ArchiveFile]]:
    """The content of ``export.json`` for ``user`` and the stored files it refers to.

    The header is written here; the rest comes from every installed app through the registry
    (``registry.export_sections``: accounts gives the account, its households and members;
    pets the pets, contacts, notes and photos; health the records and attachments...), each
    read from ``user``'s point of view, so the export holds exactly what the person can see.
    No password hash, no secrets of sign-in methods.
    """
    rows, files = registry.export_sections(user=user)
    document: dict[str, Any] = {
        "format": "pawfile-export",
        "version": FORMAT_VERSION,
        "exported_at": timezone.now(),
        "site": settings.PAWFILE_BASE_URL,
        **rows,
        "files_missing": [],
    }
    return document, files


# --- Reads -------------------------------------------------------------------------------------


def data_export_list(*, user: User, limit: int = 5) -> QuerySet[DataExport]:
    """The user's most recent exports, newest first."""
    if not user.is_authenticated:
        return DataExport.objects.none()
    return DataExport.objects.filter(user=user).order_by("-created_at", "-id")[:limit]


# --- Request and build -------------------------------------------------------------------------


def data_export_request(*, user: User, language: str = "") -> DataExport:
    """Ask for a new export of ``user``'s data; the build is enqueued after commit.

    Raises ``ExportError`` while another export of the same user is still being prepared.
    A ready export that was never downloaded is superseded (its link stops working).
    """
    now = timezone.now()
    with transaction.atomic():
        # Lock the user's row so two clicks cannot start two builds.
        User.objects.select_for_update().filter(pk=user.pk).first()
        exports = DataExport.objects.filter(user=user)
        exports.filter(
            status=DataExportStatus.PENDING, created_at__lt=now - PENDING_STALE_AFTER
        ).update(status=DataExportStatus.FAILED, error="build did not finish")
        if exports.filter(status=DataExportStatus.PENDING).exists():
            raise ExportError(
                _("Your export is already being prepared. We will email you when it is ready.")
            )
        superseded = list(
            exports.filter(status=DataExportStatus.READY).values_list("pk", "file_name")
        )
        exports.filter(pk__in=[pk for pk, _name in superseded]).update(
            status=DataExportStatus.EXPIRED, file_name=""
        )
        export = DataExport.objects.create(user=user, language=language[:8])
        names = [name for _pk, name in superseded if name]
        files_delete_on_commit(names)
        from pawfile.privacy.tasks import data_export_build

        enqueue_on_commit(data_export_build, export.pk)
    return export


def data_export_build(*, export_id: int) -> bool:
    """Build the archive of a pending export, then email the link. Idempotent.

    A build that fails marks the export ``failed`` (the person may ask again). The email is
    written to the outbox once per export, with the token it carries; the outbox retries its
    sending. Returns False when there was nothing to do.
    """
    export = DataExport.objects.select_related("user").filter(pk=export_id).first()
    if export is None:
        return False
    if export.status == DataExportStatus.PENDING:
        try:
            name, size = _archive_write(export)
        except Exception as exc:
            log.exception("data export %s failed", export_id)
            DataExport.objects.filter(pk=export_id, status=DataExportStatus.PENDING).update(
                status=DataExportStatus.FAILED, error=type(exc).__name__[:255]
            )
            return False
        updated = DataExport.objects.filter(pk=export_id, status=DataExportStatus.PENDING).update(
            status=DataExportStatus.READY, file_name=name, size=size, ready_at=timezone.now()
        )
        if not updated:  # superseded or deleted while we were building
            default_storage.delete(name)
            return False
        export.refresh_from_db()
    if export.status != DataExportStatus.READY or export.emailed_at is not None:
        return False
    data_export_email_send(export=export)
    return True


def _archive_write(export: DataExport) -> tuple[str, int]:
    """Write the zip to storage; ``(storage name, size in bytes)``."""
    document, files = export_document(user=export.user)
    missing: list[str] = []
    name = f"{EXPORTS_DIR}/{export.user_id}/{export.pk}-{secrets.token_hex(12)}.zip"
    with tempfile.TemporaryFile() as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for item in files:
                if not _archive_copy(archive, item):
                    missing.append(item.archive_name)
            document["files_missing"] = missing
            archive.writestr(
                "export.json",
                json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            )
        size = tmp.tell()
        tmp.seek(0)
        saved = default_storage.save(name, File(tmp, name=name))
    return saved, size


def _archive_copy(archive: zipfile.ZipFile, item: ArchiveFile) -> bool:
    """Copy one stored file into the archive; False when storage no longer has it."""
    try:
        source = default_storage.open(item.storage_name, "rb")
    except (FileNotFoundError, OSError):
        log.warning("export: stored file missing: %s", item.storage_name)
        return False
    info = zipfile.ZipInfo(item.archive_name, date_time=timezone.now().timetuple()[:6])
    # Photos and PDFs are already compressed; deflating them again only costs time.
    stored = item.archive_name.lower().endswith(_STORED_SUFFIXES)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with source, archive.open(info, "w", force_zip64=True) as target:
        shutil.copyfileobj(source, target, 1024 * 1024)
    return True


# --- The link ----------------------------------------------------------------------------------


def data_export_link(export: DataExport, token: str) -> str:
    """The absolute download URL for ``export`` carrying ``token`` (signed, expires in 48 h)."""
    signed = signing.dumps({"e": export.pk, "t": token}, salt=EXPORT_SALT)
    return settings.PAWFILE_BASE_URL + reverse("data_export_download", kwargs={"token": signed})


def data_export_email_send(*, export: DataExport) -> None:
    """Mint a new token, store its hash and the expiry, and write the email with the link to
    the outbox (sent after commit), all in one transaction; nothing when already mailed."""
    with transaction.atomic():
        unmailed = DataExport.objects.select_for_update().filter(
            pk=export.pk, emailed_at__isnull=True
        )
        if not unmailed.exists():
            return
        token = secrets.token_urlsafe(32)
        now = timezone.now()
        export.token_hash = _token_hash(token)
        export.expires_at = now + timedelta(seconds=EXPORT_LINK_MAX_AGE)
        export.save(update_fields=["token_hash", "expires_at"])
        user = export.user
        language = export.language or user.locale or settings.LANGUAGE_CODE
        with translation.override(language):
            context = {"user": user, "export": export, "link": data_export_link(export, token)}
            subject = _("Your Pawfile data export is ready")
            body = render_to_string("privacy/email/export_ready.txt", context)
        mail_enqueue(key=f"data-export:{export.pk}", to=[user.email], subject=subject, body=body)
        DataExport.objects.filter(pk=export.pk).update(emailed_at=now)


def data_export_from_link(*, token: str, user: User) -> DataExport:
    """The ready export a download link names, if it belongs to ``user``.

    Raises ``Http404`` for a forged or altered link and for anyone but the export's owner
    (a stranger learns nothing), ``ExportLinkGone`` for a genuine link that expired or was
    already used.
    """
    try:
        data = signing.loads(token, salt=EXPORT_SALT)
    except signing.BadSignature:
        raise Http404 from None
    if not isinstance(data, dict):
        raise Http404
    export_id, token_sent = data.get("e"), data.get("t")
    if not isinstance(export_id, int) or not isinstance(token_sent, str):
        raise Http404
    export = DataExport.objects.filter(pk=export_id, user_id=user.pk).first()
    if export is None or not constant_time_compare(export.token_hash, _token_hash(token_sent)):
        raise Http404
    if export.status == DataExportStatus.DOWNLOADED:
        raise ExportLinkGone(
            _("This export was already downloaded. Each link works once; ask for a new export.")
        )
    try:
        signing.loads(token, salt=EXPORT_SALT, max_age=EXPORT_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise ExportLinkGone(_("This download link has expired. Ask for a new export.")) from None
    expired = export.expires_at is None or export.expires_at <= timezone.now()
    if export.status != DataExportStatus.READY or expired:
        raise ExportLinkGone(_("This download link has expired. Ask for a new export."))
    return export


class DeleteOnClose(File):
    """A stored file that removes itself from storage once closed.

    Handed to ``FileResponse``, which closes it when the server finishes sending the response,
    so the archive is gone as soon as it was streamed (or the client went away).
    """

    def __init__(self, file: File[bytes], storage_name: str) -> None:
        super().__init__(file, name=storage_name.rsplit("/", 1)[-1])
        self._storage_name = storage_name

    def close(self) -> None:
        try:
            super().close()
        finally:
            default_storage.delete(self._storage_name)


def data_export_take(*, export: DataExport) -> DeleteOnClose:
    """Claim ``export`` for download (once) and open its archive.

    The status moves to ``downloaded`` with a conditional update, so two requests racing on
    the same link cannot both get the file. Raises ``ExportLinkGone`` if the file is gone or
    another request took it first.
    """
    try:
        handle = default_storage.open(export.file_name, "rb")
    except (FileNotFoundError, OSError, ValueError):
        DataExport.objects.filter(pk=export.pk, status=DataExportStatus.READY).update(
            status=DataExportStatus.EXPIRED, file_name=""
        )
        raise ExportLinkGone(
            _("This export is no longer available. Ask for a new export.")
        ) from None
    taken = DataExport.objects.filter(pk=export.pk, status=DataExportStatus.READY).update(
        status=DataExportStatus.DOWNLOADED, downloaded_at=timezone.now()
    )
    if not taken:
        handle.close()
        raise ExportLinkGone(
            _("This export was already downloaded. Each link works once; ask for a new export.")
        )
    return DeleteOnClose(handle, export.file_name)


# --- Clean-up ----------------------------------------------------------------------------------


def data_exports_expire(*, now: datetime | None = None) -> int:
    """Expire ready exports past their time and delete leftover archives; returns how many
    archives were deleted. Rows older than ``ROW_KEEP`` are removed too."""
    now = now or timezone.now()
    DataExport.objects.filter(status=DataExportStatus.READY, expires_at__lte=now).update(
        status=DataExportStatus.EXPIRED
    )
    DataExport.objects.filter(
        status=DataExportStatus.PENDING, created_at__lt=now - PENDING_STALE_AFTER
    ).update(status=DataExportStatus.FAILED, error="build did not finish")
    leftovers = DataExport.objects.exclude(file_name="").filter(
        status__in=(DataExportStatus.EXPIRED, DataExportStatus.FAILED)
    ) | DataExport.objects.exclude(file_name="").filter(
        status=DataExportStatus.DOWNLOADED, downloaded_at__lt=now - DOWNLOADED_FILE_GRACE
    )
    deleted = 0
    for pk, name in leftovers.values_list("pk", "file_name"):
        default_storage.delete(name)
        DataExport.objects.filter(pk=pk).update(file_name="")
        deleted += 1
    DataExport.objects.filter(created_at__lt=now - ROW_KEEP).exclude(
        status__in=(DataExportStatus.PENDING, DataExportStatus.READY)
    ).filter(file_name="").delete()
    return deleted
