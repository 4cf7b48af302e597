"""The roles are permission groups made by migration, with the permissions their work needs."""

import pytest

pytestmark = pytest.mark.django_db

# Which role reaches which page, API endpoint and action: the one table in tests/security/test_role_matrix.py.


def test_roles_are_groups_created_by_migration(django_user_model):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"Designers", "Operators", "Analysts"}


def test_designer_cannot_delete_products_and_operator_cannot_delete_fonts(designer, operator):
    assert designer.has_perm("templates_app.delete_font")
    assert not designer.has_perm("campaigns.delete_product")
    assert operator.has_perm("campaigns.delete_product")
    assert not operator.has_perm("templates_app.delete_font")
