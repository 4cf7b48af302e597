"""Each role reaches exactly the admin pages, dashboards and API it is meant to."""

import pytest

pytestmark = pytest.mark.django_db

# (role, url, expected status). 302 = sent to the login page.
ACCESS_TABLE = [
    ("designer", "/admin/templates_app/brand/add/", 200),
    ("designer", "/admin/templates_app/font/add/", 200),
    ("designer", "/admin/templates_app/asset/", 200),
    ("designer", "/admin/campaigns/product/", 403),
    ("designer", "/dashboards/", 403),
    ("designer", "/api/v1/products/", 403),
    ("operator", "/admin/templates_app/brand/", 200),
    ("operator", "/admin/templates_app/brand/add/", 403),
    ("operator", "/admin/templates_app/asset/add/", 403),
    ("operator", "/admin/campaigns/product/add/", 200),
    ("operator", "/dashboards/", 200),
    ("operator", "/admin/campaigns/campaign/add/", 200),
    ("operator", "/admin/campaigns/creative/", 200),
    ("designer", "/admin/campaigns/campaign/", 403),
    ("analyst", "/admin/campaigns/campaign/", 403),
    ("operator", "/api/v1/products/", 200),
    ("analyst", "/admin/templates_app/brand/", 403),
    ("analyst", "/admin/campaigns/product/", 403),
    ("analyst", "/dashboards/", 200),
    ("analyst", "/api/v1/products/", 403),
    ("anonymous", "/dashboards/", 302),
    ("anonymous", "/admin/templates_app/brand/", 302),
    ("anonymous", "/api/v1/products/", 403),
    # The operators' API and pages added with campaigns, pools and review (GET of the list views).
    *[(role, url, status) for url in ("/api/v1/ad-copy/", "/api/v1/placements/", "/api/v1/campaigns/",
                                      "/api/v1/pools/", "/admin/campaigns/productpool/",
                                      "/admin/campaigns/product/import/")
      for role, status in (("operator", 200), ("designer", 403), ("analyst", 403))],
    *[("anonymous", url, 403) for url in ("/api/v1/ad-copy/", "/api/v1/placements/", "/api/v1/campaigns/",
                                          "/api/v1/pools/")],
    ("anonymous", "/admin/campaigns/product/import/", 302),
    # Templates: designers see the preview sheet of a template; the other roles do not.
    ("designer", "/templates/999/sheet/", 404),
    ("operator", "/templates/999/sheet/", 403),
    ("analyst", "/templates/999/sheet/", 403),
    ("anonymous", "/templates/999/sheet/", 302),
    # The review gallery: operators (404 for a campaign that does not exist), not the others.
    ("operator", "/campaigns/999/review/", 404),
    ("designer", "/campaigns/999/review/", 403),
    ("analyst", "/campaigns/999/review/", 403),
    ("anonymous", "/campaigns/999/review/", 302),
]  # fmt: skip


@pytest.mark.parametrize(("role_user", "url", "expected"), ACCESS_TABLE, indirect=["role_user"])
def test_role_access(client, role_user, url, expected):
    if role_user is not None:
        client.force_login(role_user)

    response = client.get(url)

    assert response.status_code == expected


def test_roles_are_groups_created_by_migration(django_user_model):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"Designers", "Operators", "Analysts"}


def test_designer_cannot_delete_products_and_operator_cannot_delete_fonts(designer, operator):
    assert designer.has_perm("templates_app.delete_font")
    assert not designer.has_perm("campaigns.delete_product")
    assert operator.has_perm("campaigns.delete_product")
    assert not operator.has_perm("templates_app.delete_font")
