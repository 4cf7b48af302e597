"""Fixtures of the analytics tests: a live campaign's creative served to a placement with a key."""

import pytest
from django.core.cache import cache

from campaigns.models import AdCopySet, Campaign, Placement
from campaigns.serving import placement_key_issue, serve_creative
from campaigns.tests.factories import CreativeFactory
from templates_app.models import Template, TemplateVersion


@pytest.fixture
def served(media):
    cache.clear()
    placement = Placement.objects.create(name="feed", channel="recommendation", sizes=[[300, 250]])
    placement_key_issue(placement=placement)
    version = TemplateVersion.objects.create(template=Template.objects.create(name="t"), number=1, spec={})
    campaign = Campaign.objects.create(
        name="c",
        copy=AdCopySet.objects.create(name="a", titles=["x"]),
        status=Campaign.Status.LIVE,
        landing_url="https://shop.example.com/winter?utm_source=ads",
    )
    campaign.placements.add(placement)
    CreativeFactory(
        campaign=campaign,
        product_key="A",
        template_version=version,
        content_hash="h",
        aesthetic_score=80,
        stored_file=b"jpeg",
    )
    return serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250))


@pytest.fixture
def placement_key(served):
    return placement_key_issue(placement=served.creative.campaign.placements.get())
