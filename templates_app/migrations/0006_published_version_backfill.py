"""Published templates keep what campaigns used before versions were pinned: their current version."""

from django.db import migrations
from django.db.models import F


def pin_current_versions(apps, schema_editor):
    Template = apps.get_model("templates_app", "Template")
    Template.objects.filter(status="published", current_version__isnull=False).update(
        published_version=F("current_version")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0005_published_version"),
    ]

    operations = [
        migrations.RunPython(pin_current_versions, migrations.RunPython.noop),
    ]
