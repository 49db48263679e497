"""``PhoneChannel.phone_key``: the form every way of writing a number shares
(``phone_numbers.phone_key``), and verified numbers unique by it instead of by the stored
form. Existing rows get their key; where two verified rows of one channel already share a
key (two forms of one number verified by two accounts), the first verified keeps it and the
others go back to unverified and not opted in (their owners verify again and are refused).
"""

from django.conf import settings
from django.db import migrations, models


def keys_fill(apps, schema_editor):
    from pawfile.notifications.phone_numbers import phone_key

    PhoneChannel = apps.get_model("notifications", "PhoneChannel")
    taken: set[tuple[str, str]] = set()
    rows = PhoneChannel.objects.order_by("verified_at", "pk").only(
        "pk", "channel", "phone", "verified_at"
    )
    for row in rows.iterator():
        key = phone_key(row.phone) if row.phone else ""
        changes = {"phone_key": key}
        if row.verified_at is not None:
            if (row.channel, key) in taken:
                changes.update(verified_at=None, opted_in=False)
            taken.add((row.channel, key))
        PhoneChannel.objects.filter(pk=row.pk).update(**changes)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0006_phone_stopped"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="phonechannel",
            name="phone_channel_verified",
        ),
        migrations.AddField(
            model_name="phonechannel",
            name="phone_key",
            field=models.CharField(default="", editable=False, max_length=20),
        ),
        migrations.RunPython(keys_fill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="phonechannel",
            constraint=models.UniqueConstraint(
                condition=models.Q(("verified_at__isnull", False)),
                fields=("channel", "phone_key"),
                name="phone_channel_verified_key",
            ),
        ),
    ]
