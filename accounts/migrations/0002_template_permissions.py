"""Templates and their versions: Designers author them, Operators may view published ones."""

from django.db import migrations

from accounts.roles import crud, sync_role_groups

TABLE = {
    "Designers": [
        *crud("templates_app", "brand"),
        *crud("templates_app", "font"),
        *crud("templates_app", "asset"),
        *crud("templates_app", "template"),
        "templates_app.add_templateversion",
        "templates_app.view_templateversion",
    ],
    "Operators": [
        *crud("campaigns", "product"),
        "templates_app.view_brand",
        "templates_app.view_asset",
        "templates_app.view_font",
        "templates_app.view_template",
        "templates_app.view_templateversion",
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
    from importlib import import_module

    previous = import_module("accounts.migrations.0001_role_groups").TABLE
    sync_role_groups(apps, previous)

class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_role_groups"),
        ("templates_app", "0002_template_versions"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
