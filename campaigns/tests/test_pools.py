"""Product pools: the recommender upserts interest per segment; serving prefers a segment's favourites."""

import numpy as np
import pytest
from django.core.cache import cache

from campaigns.api.throttling import rate_counts_forget
from campaigns.models import AdCopySet, Campaign, Creative, Placement, PoolEntry, Product, ProductPool
from campaigns.services import pool_scores_upsert
from campaigns.serving import POOL_TOP_PRODUCTS, serve_creative
from templates_app.models import Template, TemplateVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    cache.clear()
    rate_counts_forget()
    version = TemplateVersion.objects.create(template=Template.objects.create(name="t"), number=1, spec={})
    placement = Placement.objects.create(name="feed", channel="recommendation", sizes=[[300, 250]])
    pool = ProductPool.objects.create(name="winter")
    campaign = Campaign.objects.create(
        name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]), pool=pool, status=Campaign.Status.LIVE
    )
    campaign.placements.add(placement)
    for i in range(POOL_TOP_PRODUCTS + 5):
        product = Product.objects.create(sku=f"P-{i}", title="p", price=1, main_image=f"p{i}.jpg")
        Creative.objects.create(
            campaign=campaign, product_key=product.sku, template_version=version, width=300, height=250, variant=0,
            file=f"c{i}.jpg", content_hash=str(i), aesthetic_score=70, state=Creative.State.APPROVED,
        )  # fmt: skip
    return placement, pool


def _serves(placement, segment, n=300):
    rng = np.random.default_rng(0)
    return [
        serve_creative(
            placement=placement, placement_id=placement.pk, size=(300, 250), segment=segment, rng=rng
        ).creative.product_key
        for _ in range(n)
    ]


def test_a_segment_is_shown_the_products_its_pool_ranks_highest(shop, settings):
    settings.SERVING_EXPLORATION = 0.0
    placement, pool = shop
    # Students like the last products best, everyone else the first ones.
    rows = [{"sku": f"P-{i}", "segment": "students", "score": float(i)} for i in range(POOL_TOP_PRODUCTS + 5)]
    rows += [{"sku": f"P-{i}", "segment": "", "score": float(-i)} for i in range(POOL_TOP_PRODUCTS + 5)]
    pool_scores_upsert(pool=pool, rows=rows)

    students_top = {f"P-{i}" for i in range(5, POOL_TOP_PRODUCTS + 5)}
    everyone_top = {f"P-{i}" for i in range(POOL_TOP_PRODUCTS)}
    assert set(_serves(placement, "students")) <= students_top
    assert set(_serves(placement, "retirees")) <= everyone_top  # an unknown segment: the default ranking
    assert set(_serves(placement, "")) <= everyone_top


def test_new_scores_take_effect_at_once(shop, settings):
    settings.SERVING_EXPLORATION = 0.0
    placement, pool = shop
    pool_scores_upsert(pool=pool, rows=[{"sku": "P-0", "segment": "vip", "score": 1.0}])
    assert set(_serves(placement, "vip", 50)) == {"P-0"}
    pool_scores_upsert(pool=pool, rows=[{"sku": "P-1", "segment": "vip", "score": 2.0}])
    assert set(_serves(placement, "vip", 100)) == {"P-0", "P-1"}
    assert PoolEntry.objects.filter(segment="vip").count() == 2


def test_without_pool_scores_every_creative_is_a_candidate(shop, settings):
    settings.SERVING_EXPLORATION = 0.0
    placement, _ = shop
    assert len(set(_serves(placement, "students", 600))) > POOL_TOP_PRODUCTS


def test_scores_api_upserts_and_reports_unknown_skus(client, operator, analyst, shop):
    _, pool = shop
    body = {"scores": [{"sku": "P-1", "segment": "students", "score": 3}, {"sku": "NOPE", "score": 1}]}
    client.force_login(analyst)
    assert client.put(f"/api/v1/pools/{pool.pk}/scores/", body, "application/json").status_code == 403
    client.force_login(operator)

    response = client.put(f"/api/v1/pools/{pool.pk}/scores/", body, "application/json")
    again = client.put(
        f"/api/v1/pools/{pool.pk}/scores/", {"scores": [{"sku": "P-1", "segment": "students", "score": 9}]},
        "application/json",
    )  # fmt: skip

    assert response.status_code == 200 and response.json() == {"upserted": 1, "unknown_skus": ["NOPE"]}
    assert again.status_code == 200
    assert list(PoolEntry.objects.values_list("product__sku", "segment", "interest")) == [("P-1", "students", 9.0)]
