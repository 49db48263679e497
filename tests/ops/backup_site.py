"""What the backup drill does inside a site of its own, each in a fresh Python process.

    python -m tests.ops.backup_site populate OUT              migrate, then data of every kind
    python -m tests.ops.backup_site write PROGRESS STOP OUT   add contacts w-0, w-1 ... one per
                                                               transaction until STOP exists,
                                                               then dump the site to OUT
    python -m tests.ops.backup_site dump OUT                  dump the site, then add a contact
    python -m tests.ops.backup_site scheduled                 the scheduler's backup and pruning

The site is whatever the environment names (``DATABASE_URL``, ``PAWFILE_DATA_DIR`` ...), as
for ``pawfile``. Results go to files (mail goes to the console on stdout). A dump is every
row of every table (as text, sorted) and the SHA-256 of every stored file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

PASSWORD = "drill-passphrase-4711"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pawfile.config.settings")
    import django

    django.setup()


def populate() -> dict[str, Any]:
    """Users with MFA, households, a pet with a photo, a record with an attachment, a note,
    contacts, a finished data export; how many of each."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.core.management import call_command
    from PIL import Image

    from pawfile.accounts.choices import Role
    from pawfile.accounts.models import Household, Membership
    from pawfile.accounts.services import user_create
    from pawfile.health.services import attachment_add, record_create
    from pawfile.pets.photos import photo_add
    from pawfile.pets.services import contact_create, note_create, pet_create
    from pawfile.privacy.export import data_export_request
    from pawfile.privacy.models import DataExport, DataExportStatus
    from tests.health.samples import minimal_pdf

    call_command("migrate", interactive=False, verbosity=0)
    alice = user_create(email="alice@example.org", password=PASSWORD, name="Alice")
    bob = user_create(email="bob@example.org", password=PASSWORD, name="Bob")
    for user in (alice, bob):
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    TOTP.activate(alice, generate_totp_secret())
    RecoveryCodes.activate(alice)
    household = Household.objects.get(memberships__user=alice)
    Membership.objects.create(household=household, user=bob, role=Role.CARETAKER)
    pet = pet_create(actor=alice, household=household, name="Rex", species="dog")
    jpeg = io.BytesIO()
    Image.new("RGB", (120, 90), (200, 120, 40)).save(jpeg, "JPEG")
    jpeg.seek(0)
    photo_add(actor=alice, pet=pet, upload=jpeg)
    record = record_create(actor=alice, pet=pet, kind="vaccination", name="Rabies")
    attachment_add(actor=bob, record=record, upload=io.BytesIO(minimal_pdf()), filename="r.pdf")
    note_create(actor=alice, pet=pet, title="Food", body_html="<p>Kibble, twice a day</p>")
    contact_create(actor=alice, household=household, name="Dr. Vet", pet_ids=[pet.pk])
    data_export_request(user=alice)  # built at once: tasks run immediately in the drill
    return {
        "mfa": Authenticator.objects.count(),
        "exports_ready": DataExport.objects.filter(
            status=DataExportStatus.READY, file_name__gt=""
        ).count(),
    }


def site_dump() -> dict[str, Any]:
    """Every row of every table (values as text, rows sorted) and every stored file's hash."""
    from django.core.files.storage import default_storage
    from django.db import connection

    from pawfile.ops.backup.media import media_names

    tables: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows = [
                json.dumps([_plain(value) for value in row], ensure_ascii=False)
                for row in cursor.fetchall()
            ]
            tables[table] = sorted(rows)
    files = {}
    for name in media_names():
        with default_storage.open(name, "rb") as handle:
            files[name] = hashlib.sha256(handle.read()).hexdigest()
    return {"tables": tables, "files": files}


def _plain(value: Any) -> Any:
    if isinstance(value, memoryview | bytes):
        return bytes(value).hex()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def contact_write(name: str) -> None:
    from pawfile.accounts.models import Household, User
    from pawfile.pets.services import contact_create

    alice = User.objects.get(email="alice@example.org")
    household = Household.objects.get(memberships__user=alice)
    contact_create(actor=alice, household=household, name=name)


def write(progress: Path, stop: Path, out: Path) -> None:
    """Write contacts ``w-0``, ``w-1`` ... until ``stop`` exists (``progress`` holds how many
    were committed), then dump the site into ``out``."""
    written = 0
    while not stop.exists():
        contact_write(f"w-{written}")
        written += 1
        partial = progress.with_name(progress.name + ".partial")
        partial.write_text(str(written))
        partial.replace(progress)  # a reader never sees it half-written
        time.sleep(0.01)
    out.write_text(json.dumps(site_dump()))


def main(argv: list[str]) -> None:
    _setup()
    command, args = argv[0], argv[1:]
    if command == "populate":
        Path(args[0]).write_text(json.dumps(populate()))
    elif command == "write":
        write(Path(args[0]), Path(args[1]), Path(args[2]))
    elif command == "dump":
        Path(args[0]).write_text(json.dumps(site_dump()))
        contact_write("after-restore")  # ids and sequences carry on after a restore
    elif command == "scheduled":
        from pawfile.ops.tasks import backup_scheduled_run

        if not backup_scheduled_run():
            raise SystemExit("the scheduled backup failed")
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
