"""Publishing pins a version: saving makes a draft, and only a designer's Publish (after the version's preview
sheet passes) changes the version campaigns use. Refusals name each hard error in words, with its layer."""

import importlib
import json

import pytest
from django.apps import apps

from templates_app.errors import TemplateRejected
from templates_app.models import Template
from templates_app.services import template_create, template_import_psd, template_publish, template_version_save

from .psd_samples import sample_psd_bytes
from .specs import shipped_spec, title_on_the_product

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def live(designer):
    """single-hero published at version 1, then a version 2 saved with the title on the product (a draft)."""
    template = template_publish(template=template_create(name="single-hero", spec=shipped_spec(), owner=designer))
    template_version_save(template=template, spec=title_on_the_product(), saved_by=designer)
    template.refresh_from_db()
    return template


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_saving_a_published_template_makes_a_draft_and_keeps_it_published_at_the_old_version(live):
    """What must hold: a save never changes the published version nor the status."""
    assert live.status == Template.Status.PUBLISHED
    assert live.published_version.number == 1 and live.current_version.number == 2
    assert live.has_unpublished_changes


def test_the_api_publish_is_refused_with_the_hard_errors_in_words_and_changes_nothing(client, designer, live):
    client.force_login(designer)

    response = _post(client, f"/api/v1/templates/{live.pk}/publish", {"version": 2})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "sheet_errors" and "single-hero version 2 cannot be published" in body["message"]
    assert "The title covers the product at 1080×1080." in body["extra"]["errors"]
    title = next(p for p in body["extra"]["problems"] if p["code"] == "text_over_product" and p["layer"] == "title")
    assert title["size"] in ([1080, 1080], [1200, 628], [1080, 1350], [1080, 1920]) and title["products"] == 1
    live.refresh_from_db()
    assert live.published_version.number == 1


def test_the_api_publishes_a_clean_version_and_answers_what_is_published(client, designer, live):
    """Publishing version 1 again after a bad draft is a rollback; a clean version 3 then goes live."""
    template_version_save(template=live, spec={**shipped_spec(), "tags": ["winter"]}, saved_by=designer)
    client.force_login(designer)

    response = _post(client, f"/api/v1/templates/{live.pk}/publish", {})

    assert response.status_code == 200
    assert response.json()["published_version"] == 3 and response.json()["unpublished_changes"] is False
    detail = client.get(f"/api/v1/templates/{live.pk}/").json()
    assert detail["published_version"] == 3 and detail["spec"]["tags"] == ["winter"]
    assert _post(client, f"/api/v1/templates/{live.pk}/publish", {"version": 9}).status_code == 404


def test_operators_and_analysts_may_not_publish(client, operator, analyst, live):
    for user in (operator, analyst):
        client.force_login(user)
        assert _post(client, f"/api/v1/templates/{live.pk}/publish", {}).status_code == 403
        assert _post(client, f"/templates/{live.pk}/editor/publish", {"version": 1}).status_code == 403
    live.refresh_from_db()
    assert live.published_version.number == 1


def test_the_editor_publish_refuses_a_draft_with_errors_and_publishes_a_clean_one(client, designer, live):
    client.force_login(designer)

    refused = _post(client, f"/templates/{live.pk}/editor/publish", {"version": 2})
    template_version_save(template=live, spec=shipped_spec(), saved_by=designer)
    published = _post(client, f"/templates/{live.pk}/editor/publish", {"version": 3})

    assert refused.status_code == 400 and refused.json()["code"] == "sheet_errors"
    assert any(p["layer"] == "title" for p in refused.json()["extra"]["problems"])
    assert published.status_code == 200 and published.json()["published_version"] == 3
    assert _post(client, f"/templates/{live.pk}/editor/publish", {"version": "x"}).status_code == 400


def test_the_editor_opens_the_draft_and_says_which_version_is_published(client, designer, live):
    client.force_login(designer)

    page = client.get(f"/templates/{live.pk}/editor/")

    assert page.context["editor"]["version"] == 2 and page.context["editor"]["published_version"] == 1
    assert "Draft: version 2" in page.content.decode() and "Published: version 1" in page.content.decode()


def test_the_admin_shows_published_and_draft_versions_plainly(client, designer, live):
    client.force_login(designer)

    listing = client.get("/admin/templates_app/template/").content.decode()
    page = client.get(f"/admin/templates_app/template/{live.pk}/change/").content.decode()

    assert "Published: v1, draft v2 (unpublished changes)" in listing
    assert "Published: v1, draft v2 (unpublished changes)" in page and "Publish v2</button>" in page


def test_the_admin_publish_action_publishes_the_draft_or_says_why_not(client, designer, live):
    client.force_login(designer)
    action = {"action": "publish", "_selected_action": [live.pk]}

    refused = client.post("/admin/templates_app/template/", action, follow=True).content.decode()
    template_version_save(template=live, spec=shipped_spec(), saved_by=designer)
    done = client.post("/admin/templates_app/template/", action, follow=True).content.decode()

    assert "cannot be published" in refused and "The title covers the product at 1080×1080." in refused
    assert "Single-hero version 3 published: campaigns use it now." in done  # the admin capitalises messages
    live.refresh_from_db()
    assert live.published_version.number == 3 and not live.has_unpublished_changes


def test_operators_see_the_published_sheet_and_designers_the_draft(client, designer, operator, live):
    client.force_login(operator)
    operator_sheet = client.get(f"/templates/{live.pk}/sheet/")
    client.force_login(designer)
    designer_sheet = client.get(f"/templates/{live.pk}/sheet/")

    assert operator_sheet.context["version"].number == 1 and operator_sheet.context["errors"] == 0
    assert designer_sheet.context["version"].number == 2 and designer_sheet.context["errors"] > 0


def test_the_migration_pins_published_templates_at_their_current_version(designer):
    published = template_create(name="was-live", spec=shipped_spec())
    Template.objects.filter(pk=published.pk).update(status=Template.Status.PUBLISHED)
    draft = template_create(name="draft", spec=shipped_spec())
    backfill = importlib.import_module("templates_app.migrations.0006_published_version_backfill")

    backfill.pin_current_versions(apps, None)

    published.refresh_from_db()
    draft.refresh_from_db()
    assert published.published_version == published.current_version and draft.published_version is None


@pytest.mark.filterwarnings("ignore:'mode' parameter is deprecated:DeprecationWarning")  # psd-tools' compositor
def test_a_psd_import_whose_sample_title_is_cut_shows_it_on_its_sheet_and_cannot_be_published(client, designer):
    """Issue 20: the imported title box holds one line, so the sheet's title is cut at some sizes. What must
    hold: the sheet names each cut in words as a hard error, and Publish is refused for it."""
    template, _ = template_import_psd(name="Winter sale PSD", data=sample_psd_bytes(), owner=designer)
    client.force_login(designer)

    sheet = client.get(f"/templates/{template.pk}/sheet/")
    with pytest.raises(TemplateRejected) as refused:
        template_publish(template=template)

    cut = "The title is cut to “冬季新品…” at 1080×1080: the sample title must show whole before publishing"
    assert sheet.context["errors"] > 0 and cut in sheet.content.decode()
    assert "No hard errors" not in sheet.content.decode()
    assert any(e.startswith(cut) for e in refused.value.extra["errors"])
    template.refresh_from_db()
    assert template.published_version is None and template.status == Template.Status.DRAFT


def test_the_designers_sheet_links_each_hard_error_to_its_layer_in_the_editor(client, designer, operator, live):
    """Issue 20 item 2: a hard check reads as a sentence and leads to its layer, at the size where it fails."""
    client.force_login(designer)
    page = client.get(f"/templates/{live.pk}/sheet/").content.decode()
    client.force_login(operator)
    published = client.get(f"/templates/{live.pk}/sheet/").content.decode()

    link = (
        f'href="/templates/{live.pk}/editor/?layer=title&amp;size=1080x1080&amp;products=1">'
        "The title covers the product at 1080×1080.</a>"
    )
    assert link in page
    assert "/editor/?layer=" not in published  # operators read the published sheet; they do not edit
