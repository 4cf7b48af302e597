"""Published means pinned: campaigns generate, and placements are served, from a template's published
version only. A designer's later saves are drafts that reach no campaign until they are published."""

import io
from decimal import Decimal

import numpy as np
import pytest
from django.core.cache import cache

from campaigns.models import AdCopySet, Campaign, Creative, Placement
from campaigns.services import campaign_go_live, creatives_review, generation_job_start, product_upsert
from campaigns.serving import serve_creative
from synthesis.samples import product_photo
from templates_app.errors import TemplateRejected
from templates_app.services import template_create, template_publish, template_version_save
from templates_app.tests.specs import shipped_spec, title_on_the_product

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def _jpeg(colour) -> bytes:
    buf = io.BytesIO()
    product_photo(colour, size=400).image.convert("RGB").save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def campaign():
    cache.clear()
    template = template_publish(template=template_create(name="single-hero", spec=shipped_spec()))
    placement = Placement.objects.create(name="feed", channel="recommendation", sizes=[[728, 90]])
    copy = AdCopySet.objects.create(name="winter", titles=["冬季羽绒服 限时直降"])
    campaign = Campaign.objects.create(name="Winter", copy=copy, top_k=1, candidates_per_size=4)
    campaign.templates.add(template)
    campaign.placements.add(placement)
    campaign.products.add(
        product_upsert(sku="A-1", title="羽绒服", price=Decimal("699"), image_data=_jpeg((178, 34, 52)))
    )
    return campaign


def _generate(campaign, capture) -> list[Creative]:
    with capture(execute=True):
        generation_job_start(campaign=campaign)
    return list(Creative.objects.filter(campaign=campaign).select_related("template_version"))


def test_a_saved_draft_never_reaches_generation_or_serving(campaign, django_capture_on_commit_callbacks):
    """What must hold: after a designer saves version 2 of a published template (unpublished, with hard
    errors), every creative generated and every creative served comes from version 1, the published one."""
    template = campaign.templates.get()
    published = template.published_version
    draft = template_version_save(template=template, spec=title_on_the_product(), note="title onto the product")
    template.refresh_from_db()
    assert template.status == template.Status.PUBLISHED and template.published_version == published
    assert template.current_version == draft and template.has_unpublished_changes

    creatives = _generate(campaign, django_capture_on_commit_callbacks)

    assert creatives and {c.template_version_id for c in creatives} == {published.pk}
    assert all(c.provenance["template"] == "single-hero" for c in creatives)
    creatives_review(creatives=creatives, approve=True)
    campaign_go_live(campaign=campaign)
    placement = campaign.placements.get()
    rng = np.random.default_rng(0)
    served = {
        serve_creative(
            placement=placement, placement_id=placement.pk, size=(728, 90), rng=rng
        ).creative.template_version_id
        for _ in range(10)
    }
    assert served == {published.pk}


def test_a_refused_publish_leaves_campaigns_on_the_published_version(campaign, django_capture_on_commit_callbacks):
    """What must hold: publishing a draft with hard errors is refused and changes nothing campaigns use."""
    template = campaign.templates.get()
    published = template.published_version
    template_version_save(template=template, spec=title_on_the_product())

    with pytest.raises(TemplateRejected) as refused:
        template_publish(template=template)

    assert refused.value.code == "sheet_errors"
    assert "The title covers the product at 1080×1080." in refused.value.extra["errors"]
    template.refresh_from_db()
    assert template.published_version == published and template.status == template.Status.PUBLISHED
    creatives = _generate(campaign, django_capture_on_commit_callbacks)
    assert {c.template_version_id for c in creatives} == {published.pk}


def test_a_published_draft_is_what_the_next_generation_uses(campaign, django_capture_on_commit_callbacks):
    """What must hold: once the designer publishes a clean draft, the campaign's next creatives come from it."""
    template = campaign.templates.get()
    spec = shipped_spec()
    spec["tags"] = [*spec.get("tags", []), "winter"]
    draft = template_version_save(template=template, spec=spec)

    template_publish(template=template)

    template.refresh_from_db()
    assert template.published_version == draft and not template.has_unpublished_changes
    creatives = _generate(campaign, django_capture_on_commit_callbacks)
    assert creatives and {c.template_version_id for c in creatives} == {draft.pk}


def test_a_never_published_template_is_not_used_even_when_attached(campaign, django_capture_on_commit_callbacks):
    """What must hold: a draft-only template attached to a campaign makes no creative."""
    campaign.templates.add(template_create(name="draft-hero", spec=shipped_spec()))

    creatives = _generate(campaign, django_capture_on_commit_callbacks)

    assert creatives and {c.template_version.template.name for c in creatives} == {"single-hero"}


def test_the_preview_api_renders_the_published_version_for_operators_and_the_draft_for_designers(
    client, designer, operator, campaign
):
    """What must hold: an operator previewing a template with catalogue products sees what campaigns make
    (the published version); the designer sees the draft being worked on."""
    template = campaign.templates.get()
    template_version_save(template=template, spec=title_on_the_product())
    body = {"product_skus": ["A-1"], "title": "冬季羽绒服 限时直降", "width": 1080, "height": 1080}

    answers = {}
    for user in (operator, designer):
        client.force_login(user)
        answers[user.username] = client.post(
            f"/api/v1/templates/{template.pk}/preview", body, content_type="application/json"
        )

    assert answers["operator"].status_code == 200 and answers["operator"]["X-Violations"] == "none"
    assert "text_over_product:title" in answers["designer"]["X-Violations"]
