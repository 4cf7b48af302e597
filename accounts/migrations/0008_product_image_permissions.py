"""A product's further photos (scenes, details): Operators manage them with the product."""

from importlib import import_module

from django.db import migrations

from accounts.roles import crud, sync_role_groups

PREVIOUS = import_module("accounts.migrations.0006_api_key_permissions").TABLE
TABLE = {**PREVIOUS, "Operators": [*PREVIOUS["Operators"], *crud("campaigns", "productimage")]}


def forwards(apps, schema_editor):
    sync_role_groups(apps, TABLE)


def backwards(apps, schema_editor):
    sync_role_groups(apps, PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_idempotency_keys"),
        ("campaigns", "0019_product_images"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
