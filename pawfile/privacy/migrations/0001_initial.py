"""``DataExport`` moved here from accounts.

The model takes over the existing ``accounts_dataexport`` table (``db_table``): only Django's
state changes, no row is copied. The content type is relabelled so admin permissions and any
generic reference follow the model.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _relabel(apps, old: str, new: str) -> None:  # type: ignore[no-untyped-def]
    content_type = apps.get_model("contenttypes", "ContentType")
    if content_type.objects.filter(app_label=new, model="dataexport").exists():
        content_type.objects.filter(app_label=old, model="dataexport").delete()
    else:
        content_type.objects.filter(app_label=old, model="dataexport").update(app_label=new)


def content_type_move(apps, schema_editor):  # type: ignore[no-untyped-def]
    _relabel(apps, "accounts", "privacy")


def content_type_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    _relabel(apps, "privacy", "accounts")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0003_dataexport_to_privacy"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DataExport",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("status", models.CharField(choices=[("pending", "Being prepared"), ("ready", "Ready to download"), ("downloaded", "Downloaded"), ("expired", "Expired"), ("failed", "Failed")], default="pending", max_length=16)),
                        ("token_hash", models.CharField(blank=True, default="", editable=False, max_length=64)),
                        ("file_name", models.CharField(blank=True, default="", max_length=255)),
                        ("size", models.PositiveBigIntegerField(default=0)),
                        ("language", models.CharField(blank=True, default="", max_length=8)),
                        ("error", models.CharField(blank=True, default="", max_length=255)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("ready_at", models.DateTimeField(blank=True, null=True)),
                        ("emailed_at", models.DateTimeField(blank=True, null=True)),
                        ("expires_at", models.DateTimeField(blank=True, null=True)),
                        ("downloaded_at", models.DateTimeField(blank=True, null=True)),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="data_exports", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "data export",
                        "verbose_name_plural": "data exports",
                        "db_table": "accounts_dataexport",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["status", "expires_at"], name="accounts_da_status_4b6902_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_move, content_type_back, elidable=True),
    ]
