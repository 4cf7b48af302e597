"""Create the role groups with the permissions of the models that exist at this point."""

from django.db import migrations

from accounts.roles import crud, sync_role_groups

TABLE = {
    "Designers": [
        *crud("templates_app", "brand"),
        *crud("templates_app", "font"),
        *crud("templates_app", "asset"),
    ],
    "Operators": [
        *crud("campaigns", "product"),
        "templates_app.view_brand",
        "templates_app.view_asset",
        "templates_app.view_font",
        "analytics.view_dashboard",
        "analytics.export_data",
    ],
    "Analysts": [
        "analytics.view_dashboard",
        "analytics.export_data",
    ],
}


def forwards(apps, schema_editor):
    sync_role_groups(apps, TABLE)


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=TABLE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("templates_app", "0001_initial"),
        ("campaigns", "0001_initial"),
        ("analytics", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
