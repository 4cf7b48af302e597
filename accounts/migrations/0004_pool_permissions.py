"""Product pools and their interest scores: Operators manage them."""

from importlib import import_module

from django.db import migrations

from accounts.roles import crud, sync_role_groups

PREVIOUS = import_module("accounts.migrations.0003_campaign_permissions").TABLE
TABLE = {
    **PREVIOUS,
    "Operators": [*PREVIOUS["Operators"], *crud("campaigns", "productpool"), *crud("campaigns", "poolentry")],
}


def forwards(apps, schema_editor):
    sync_role_groups(apps, TABLE)


def backwards(apps, schema_editor):
    sync_role_groups(apps, PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_campaign_permissions"),
        ("campaigns", "0007_product_pools"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
