"""The roles and what each may do, as Django permission groups.

Data migrations call `sync_role_groups` with the table frozen at that migration, so each
later issue that adds models adds a migration with the grown table.
"""

from collections.abc import Mapping, Sequence

DESIGNERS = "Designers"
OPERATORS = "Operators"
ANALYSTS = "Analysts"
ROLES = (DESIGNERS, OPERATORS, ANALYSTS)


def crud(app_label: str, model: str) -> list[str]:
    return [f"{app_label}.{action}_{model}" for action in ("add", "change", "delete", "view")]


def sync_role_groups(apps, table: Mapping[str, Sequence[str]]) -> None:
    """Make each group hold exactly the permissions in `table` (run inside a migration)."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; roles need them now.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, apps=apps, verbosity=0)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in table.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".", 1)
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(permissions)
