"""``DataExport`` moved to the privacy app: only Django's state changes; the table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_dataexport"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="DataExport")],
            database_operations=[],
        ),
    ]
