"""The scans' own index on ``code_id`` goes: ``qr_scan_code_at_idx`` (code, at) serves every
lookup by code, and each index costs every stored scan (about a microsecond a row on SQLite).
Dropped in place (found by introspection: on PostgreSQL also its ``_like`` twin), not by
remaking the table, which ``AlterField`` would do on SQLite."""

import django.db.models.deletion
from django.db import migrations, models


def _code_indexes(schema_editor, model) -> list[str]:
    return schema_editor._constraint_names(model, ["code_id"], index=True)


def drop(apps, schema_editor) -> None:
    model = apps.get_model("qr", "Scan")
    for name in _code_indexes(schema_editor, model):
        schema_editor.execute(schema_editor._delete_index_sql(model, name))


def create(apps, schema_editor) -> None:
    model = apps.get_model("qr", "Scan")
    if not _code_indexes(schema_editor, model):
        field = model._meta.get_field("code")
        for statement in schema_editor._field_indexes_sql(model, field):
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("qr", "0003_scan_country"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="scan",
                    name="code",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="scans",
                        to="qr.qrcode",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop, create)],
        ),
    ]
