# A placement whose key is revoked now voids the tracking tokens served before the revocation
# (analytics counts none of their events): the same for keys revoked before this rule existed.

from django.db import migrations
from django.db.models import F


def backfill(apps, schema_editor):
    Placement = apps.get_model("campaigns", "Placement")
    Placement.objects.filter(key_revoked_at__isnull=False, tokens_revoked_before__isnull=True).update(
        tokens_revoked_before=F("key_revoked_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0013_placement_tokens_revoked_before_landing_url_schemes"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
