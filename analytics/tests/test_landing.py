"""Each role lands where its work is: analysts on the dashboards, the others on an admin index that links
the dashboards and the review galleries; operators may read any published template's preview sheet."""

import json
from pathlib import Path

import pytest

from campaigns.models import AdCopySet, Campaign

pytestmark = pytest.mark.django_db
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


def _login(client, user):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": user.username, "password": "x-long-password", "next": "/admin/"},
        follow=True,
    )


@pytest.fixture
def users(designer, operator, analyst):
    for user in (designer, operator, analyst):
        user.set_password("x-long-password")
        user.save()
    return designer, operator, analyst


def test_an_analyst_lands_on_the_dashboards_after_login(client, users):
    _, _, analyst = users
    response = _login(client, analyst)
    assert response.redirect_chain[-1][0] == "/dashboards/"
    assert response.status_code == 200
    assert "You don’t have permission to view or edit anything" not in response.content.decode()


def test_the_admin_index_links_the_dashboards_and_the_review_galleries(client, users):
    _, operator, _ = users
    campaign = Campaign.objects.create(name="Winter", copy=AdCopySet.objects.create(name="a", titles=["x"]))
    response = _login(client, operator)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/admin/"
    assert 'id="work-links"' in page
    assert 'href="/dashboards/"' in page
    assert f'href="/campaigns/{campaign.pk}/review/"' in page and "Review gallery: Winter" in page


def test_a_designer_sees_no_review_galleries_they_cannot_open(client, users):
    designer, _, _ = users
    Campaign.objects.create(name="Winter", copy=AdCopySet.objects.create(name="a", titles=["x"]))
    page = _login(client, designer).content.decode()
    assert "Review gallery" not in page and 'href="/dashboards/"' not in page.split('id="work-links"')[-1]


def test_operators_read_published_sheets_and_never_drafts(client, operator):
    from templates_app.services import template_create, template_publish

    spec = json.loads((SHIPPED / "single-hero.json").read_text())
    published = template_publish(template=template_create(name="single-hero", spec=spec))
    draft = template_create(name="draft-hero", spec=spec)
    client.force_login(operator)

    response = client.get(f"/templates/{published.pk}/sheet/")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<figure") >= 4
    assert "Read-only" in page and "can be published" not in page
    assert f"/templates/{published.pk}/editor/" not in page  # no way to edit from here
    assert client.get(f"/templates/{draft.pk}/sheet/").status_code == 404
    assert client.get(f"/templates/{published.pk}/editor/").status_code == 403

    changelist = client.get("/admin/templates_app/template/").content.decode()
    assert "Preview sheet" in changelist and "Visual editor" not in changelist


def test_403_and_404_pages_share_the_site_look_and_offer_a_way_back(client, analyst):
    client.force_login(analyst)

    refused = client.get("/templates/1/editor/")
    missing = client.get("/no/such/page/")

    assert refused.status_code == 403 and missing.status_code == 404
    for response in (refused, missing):
        page = response.content.decode()
        assert 'href="/static/site.css"' in page or "site.css" in page
        assert 'class="ways-back"' in page and 'href="/dashboards/"' in page
    assert "Not allowed for your role" in refused.content.decode()
    assert "/no/such/page/" in missing.content.decode()
