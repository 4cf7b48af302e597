"""Every role makes, sees and revokes its members' own API keys (the admin and the API show each person only theirs)."""

from importlib import import_module

from django.db import migrations

from accounts.roles import sync_role_groups

PREVIOUS = import_module("accounts.migrations.0004_pool_permissions").TABLE
API_KEYS = ["accounts.add_userapikey", "accounts.change_userapikey", "accounts.view_userapikey"]
TABLE = {role: [*codes, *API_KEYS] for role, codes in PREVIOUS.items()}


def forwards(apps, schema_editor):
    sync_role_groups(apps, TABLE)


def backwards(apps, schema_editor):
    sync_role_groups(apps, PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_user_api_keys")]

    operations = [migrations.RunPython(forwards, backwards)]
