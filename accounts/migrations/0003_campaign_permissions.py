"""Campaigns, placements, ad copy, jobs and creatives: Operators run them."""

from importlib import import_module

from django.db import migrations

from accounts.roles import crud, sync_role_groups

PREVIOUS = import_module("accounts.migrations.0002_template_permissions").TABLE
TABLE = {
    **PREVIOUS,
    "Operators": [
        *PREVIOUS["Operators"],
        *crud("campaigns", "placement"),
        *crud("campaigns", "adcopyset"),
        *crud("campaigns", "campaign"),
        "campaigns.view_generationjob",
        "campaigns.view_creative",
        "campaigns.change_creative",
    ],
}


def forwards(apps, schema_editor):
    sync_role_groups(apps, TABLE)


def backwards(apps, schema_editor):
    sync_role_groups(apps, PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_template_permissions"),
        ("campaigns", "0002_campaigns_and_creatives"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
