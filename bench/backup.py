"""Backup, verify and restore times for a site with N health records and M photos.

    python bench/backup.py --records 100000 --photos 1000 [--mode sqlite|postgres|both]
                           [--encrypt]

For each mode a site of its own is made (a temporary data dir; for PostgreSQL a fresh
database on ``DATABASE_URL``'s server, dropped after), migrated, filled (records made by
the database in one INSERT from a generated series, across 100 pets; each photo as a real
row with its six stored variants, the bytes of one real 1280-pixel photo), then the real
commands are timed: ``pawfile backup``, ``pawfile backup --verify``, the wipe,
``pawfile restore``. Prints a table.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
PAWFILE = str(Path(sys.executable).with_name("pawfile"))
PETS = 100


def fill(records: int, photos: int) -> None:
    """Runs inside the site's own process (``_fill``)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pawfile.config.settings")
    import django

    django.setup()
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from pawfile.accounts.models import Household
    from pawfile.accounts.services import user_create
    from pawfile.pets.models import Pet, Photo
    from pawfile.pets.photos import photo_add

    owner = user_create(email="bench@example.org", password=None, name="Bench")
    household = Household.objects.get(memberships__user=owner)
    pets = Pet.objects.bulk_create(
        [Pet(household=household, name=f"Pet {n}", species="dog") for n in range(PETS)]
    )
    _records_insert(records, first_pet=pets[0].pk, owner_id=owner.pk)
    if not photos:
        return
    picture = io.BytesIO()
    # smooth shapes with some grain: compresses about like a photo (pure noise would not)
    smooth = Image.effect_noise((200, 150), 80).convert("RGB").resize((1600, 1200), Image.BICUBIC)
    grain = Image.effect_noise((1600, 1200), 12).convert("RGB")
    Image.blend(smooth, grain, 0.15).save(picture, "JPEG", quality=90)
    picture.seek(0)
    model = photo_add(actor=owner, pet=pets[0], upload=picture)
    folder, variants = f"pets/{pets[0].pk}/photos", {}
    for file_name in default_storage.listdir(folder)[1]:
        with default_storage.open(f"{folder}/{file_name}") as handle:
            variants[file_name.rsplit("-", 1)[1]] = handle.read()
    for n in range(photos - 1):
        photo = Photo(pet=pets[n % PETS], uploaded_by=owner, width=1280, height=1280)
        photo.bytes_stored = model.bytes_stored
        for suffix, data in variants.items():
            default_storage.save(
                f"pets/{photo.pet_id}/photos/{photo.key}-{suffix}", ContentFile(data)
            )
        photo.save()


def _records_insert(records: int, *, first_pet: int, owner_id: int) -> None:
    """``records`` health records across the pets, made by the database itself in one
    statement (a generated series), every column filled as a form would leave it."""
    from django.db import connection, models

    from pawfile.health.models import HealthRecord

    sqlite = connection.vendor == "sqlite"
    day = (
        "date('2020-01-01', '+' || (n % 2000) || ' days')"
        if sqlite
        else ("DATE '2020-01-01' + (n % 2000)")
    )
    special = {
        "pet": f"{first_pet} + n % {PETS}",
        "kind": "CASE WHEN n % 2 = 1 THEN 'vaccination' ELSE 'visit' END",
        "date": day,
        "name": "'Record ' || n",
        "notes": "'Checked, all well. Checked, all well. Checked, all well.'",
        "vet_name": "'Dr. Vet'",
        "clinic": "'Clinic'",
        "created_by": str(owner_id),
        "created_at": "CURRENT_TIMESTAMP",
        "updated_at": "CURRENT_TIMESTAMP",
    }
    columns, values = [], []
    for field in HealthRecord._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in special:
            values.append(special[field.name])
        elif field.null:
            values.append("NULL")
        elif isinstance(field, models.BooleanField):
            values.append("FALSE")
        elif isinstance(field, models.IntegerField | models.DecimalField):
            values.append("0")
        else:
            values.append("''")
    last = records - 1
    series = (
        f"WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < {last})"  # noqa: S608
        if sqlite
        else f"WITH seq(n) AS (SELECT generate_series(0, {last}))"
    )
    table = connection.ops.quote_name(HealthRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{series} INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM seq"
        )


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.monotonic()
    result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{args[1:3]} failed:\n{result.stdout}\n{result.stderr}")
    return time.monotonic() - start, result.stdout


def run_mode(mode: str, records: int, photos: int, encrypt: bool) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="pawfile-bench-backup-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAWFILE_", "DJANGO_"))}
    env.update(PAWFILE_DATA_DIR=str(work / "data"), PAWFILE_LOG_LEVEL="WARNING")
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    admin_url, name = "", "pawfile_bench_" + uuid.uuid4().hex[:8]
    if mode == "postgres":
        import psycopg

        base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        admin_url = urlunsplit(urlsplit(base)._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = urlunsplit(urlsplit(base)._replace(path="/" + name))
    try:
        subprocess.run([PAWFILE, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
        fill_s, _ = _timed([sys.executable, __file__, "_fill", str(records), str(photos)], env)
        backup_args = [PAWFILE, "backup", "--to", str(work / "backups")]
        identity_args: list[str] = []
        if encrypt:
            from pyrage import x25519

            identity = x25519.Identity.generate()
            (work / "key").write_text(str(identity) + "\n")
            backup_args += ["--encrypt-to", str(identity.to_public())]
            identity_args = ["--identity", str(work / "key")]
        backup_s, _ = _timed(backup_args, env)
        (archive,) = (work / "backups").glob("pawfile-backup-*")
        verify_s, _ = _timed([PAWFILE, "backup", "--verify", str(archive), *identity_args], env)
        shutil.rmtree(work / "data")
        if mode == "postgres":
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
        restore_s, _ = _timed([PAWFILE, "restore", str(archive), *identity_args], env)
        return {
            "mode": mode,
            "records": records,
            "photos": photos,
            "archive MB": round(archive.stat().st_size / 1e6, 1),
            "fill s": round(fill_s, 1),
            "backup s": round(backup_s, 1),
            "verify s": round(verify_s, 1),
            "restore s": round(restore_s, 1),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if mode == "postgres":
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_fill":
        sys.path.insert(0, str(ROOT))
        fill(int(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--photos", type=int, default=1_000)
    parser.add_argument("--mode", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--encrypt", action="store_true", help="encrypt the archive with age")
    args = parser.parse_args()
    modes = ["sqlite", "postgres"] if args.mode == "both" else [args.mode]
    for number, mode in enumerate(modes):
        row = run_mode(mode, args.records, args.photos, args.encrypt)
        if number == 0:
            print(" | ".join(row))
            print(" | ".join("---" for _ in row))
        print(" | ".join(str(value) for value in row.values()), flush=True)


if __name__ == "__main__":
    main()
