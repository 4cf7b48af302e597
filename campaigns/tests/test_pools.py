"""Product pools: the recommender upserts interest per segment; serving prefers a segment's top products."""

from collections import Counter

import numpy as np
import pytest
from django.core.cache import cache

from campaigns.api.throttling import rate_counts_forget
from campaigns.models import PoolEntry, Product
from campaigns.services import POOL_SCORES_MAX, pool_scores_upsert
from campaigns.serving import POOL_TOP_PRODUCTS, placement_key_issue, serve_creative
from campaigns.serving import cache as serving_cache

from .factories import CampaignFactory, CreativeFactory, PlacementFactory, ProductFactory, ProductPoolFactory

pytestmark = pytest.mark.django_db
PRODUCTS = POOL_TOP_PRODUCTS + 10


@pytest.fixture(autouse=True)
def clean_caches():
    cache.clear()
    rate_counts_forget()


@pytest.fixture
def shop():
    """A live campaign with a pool and one approved creative for each of PRODUCTS products, on one placement."""
    placement = PlacementFactory()
    pool = ProductPoolFactory()
    campaign = CampaignFactory(pool=pool)
    campaign.placements.add(placement)
    for i in range(PRODUCTS):
        product = ProductFactory(sku=f"P-{i:02}")
        campaign.products.add(product)
        CreativeFactory(campaign=campaign, product_key=product.sku)
    return placement, pool, campaign


def _serves(placement, segment: str, n: int = 400) -> Counter:
    rng = np.random.default_rng(0)
    served = (
        serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250), segment=segment, rng=rng)
        for _ in range(n)
    )
    return Counter(s.creative.product_key for s in served)


def _scores(segment: str, best_first: list[int]) -> list[dict]:
    return [{"sku": f"P-{i:02}", "segment": segment, "score": float(-rank)} for rank, i in enumerate(best_first)]


# --- the scores API -------------------------------------------------------------------------------------


def test_scores_api_upserts_the_rows_and_reports_unknown_skus(client, operator, shop):
    _, pool, _ = shop
    client.force_login(operator)
    rows = [
        {"sku": "P-01", "segment": "students", "score": 3},
        {"sku": "P-02", "score": 1.5},
        {"sku": "NOPE", "segment": "students", "score": 1},
    ]

    response = client.put(f"/api/v1/pools/{pool.pk}/scores/", {"scores": rows}, "application/json")

    assert response.status_code == 200 and response.json() == {"upserted": 2, "unknown_skus": ["NOPE"]}
    stored = set(PoolEntry.objects.values_list("pool_id", "product__sku", "segment", "interest"))
    assert stored == {(pool.pk, "P-01", "students", 3.0), (pool.pk, "P-02", "", 1.5)}


def test_a_new_score_for_a_product_and_segment_replaces_the_old_one(client, operator, shop):
    _, pool, _ = shop
    client.force_login(operator)
    url = f"/api/v1/pools/{pool.pk}/scores"  # the path as the recommender team wrote it, no trailing slash

    client.put(url, [{"sku": "P-01", "segment": "students", "score": 3}], "application/json")
    again = client.put(url, [{"sku": "P-01", "segment": "students", "score": 9}], "application/json")

    assert again.status_code == 200
    assert list(PoolEntry.objects.values_list("product__sku", "segment", "interest")) == [("P-01", "students", 9.0)]


def test_ten_thousand_scores_are_upserted_in_one_request(client, operator, shop):
    _, pool, _ = shop
    client.force_login(operator)
    more = Product.objects.bulk_create(ProductFactory.build_batch(1000 - PRODUCTS))
    skus = [f"P-{i:02}" for i in range(PRODUCTS)] + [p.sku for p in more]
    rows = [{"sku": sku, "segment": f"s{s}", "score": float(i)} for i, sku in enumerate(skus) for s in range(10)]
    assert len(rows) == POOL_SCORES_MAX

    response = client.put(f"/api/v1/pools/{pool.pk}/scores/", {"scores": rows}, "application/json")

    assert response.status_code == 200 and response.json()["upserted"] == POOL_SCORES_MAX
    assert PoolEntry.objects.filter(pool=pool).count() == POOL_SCORES_MAX


def test_more_than_ten_thousand_scores_are_refused_with_413(client, operator, shop):
    _, pool, _ = shop
    client.force_login(operator)
    rows = [{"sku": "P-01", "segment": f"s{i}", "score": 1.0} for i in range(POOL_SCORES_MAX + 1)]

    response = client.put(f"/api/v1/pools/{pool.pk}/scores/", {"scores": rows}, "application/json")

    assert response.status_code == 413 and PoolEntry.objects.count() == 0


def test_a_score_that_is_not_a_number_is_refused_with_400(client, operator, shop):
    _, pool, _ = shop
    client.force_login(operator)

    response = client.put(
        f"/api/v1/pools/{pool.pk}/scores/", {"scores": [{"sku": "P-01", "score": "high"}]}, "application/json"
    )

    assert response.status_code == 400 and PoolEntry.objects.count() == 0


@pytest.mark.parametrize(
    "role_user, status", [("operator", 200), ("designer", 403), ("analyst", 403), ("anonymous", 401)],
    indirect=["role_user"],
)  # fmt: skip
def test_only_operators_may_upsert_scores(client, shop, role_user, status):
    _, pool, _ = shop
    if role_user:
        client.force_login(role_user)

    response = client.put(f"/api/v1/pools/{pool.pk}/scores/", {"scores": _scores("x", [1])}, "application/json")

    assert response.status_code == status
    assert PoolEntry.objects.count() == (1 if status == 200 else 0)


# --- serving --------------------------------------------------------------------------------------------


def test_serving_prefers_the_top_products_for_the_requested_segment(shop):
    placement, pool, _ = shop
    students_top = list(range(PRODUCTS - 1, PRODUCTS - 1 - POOL_TOP_PRODUCTS, -1))  # the last products
    pool_scores_upsert(pool=pool, rows=_scores("students", students_top))

    served = _serves(placement, "students")

    top_skus = {f"P-{i:02}" for i in students_top}
    assert sum(n for sku, n in served.items() if sku in top_skus) >= 0.9 * sum(served.values())
    assert len(served) > POOL_TOP_PRODUCTS // 2  # the draw still explores among the top products


def test_an_unknown_segment_falls_back_to_every_creative(shop):
    placement, pool, _ = shop
    pool_scores_upsert(pool=pool, rows=_scores("students", list(range(POOL_TOP_PRODUCTS))))

    served = _serves(placement, "retirees", 800)

    assert len(served) > POOL_TOP_PRODUCTS  # products outside the students' top are served too


def test_an_unknown_segment_gets_the_ranking_for_everyone_when_the_pool_has_one(shop):
    placement, pool, _ = shop
    everyone_top = list(range(POOL_TOP_PRODUCTS))
    pool_scores_upsert(pool=pool, rows=_scores("", everyone_top) + _scores("students", list(range(PRODUCTS))[::-1]))

    retirees, no_segment = _serves(placement, "retirees"), _serves(placement, "")

    assert set(retirees) <= {f"P-{i:02}" for i in everyone_top}
    assert set(no_segment) <= {f"P-{i:02}" for i in everyone_top}


def test_a_campaign_without_a_pool_serves_every_creative_as_before(shop):
    placement, pool, campaign = shop
    pool_scores_upsert(pool=pool, rows=_scores("students", [0]))
    campaign.pool = None
    campaign.save()

    assert len(_serves(placement, "students", 800)) > POOL_TOP_PRODUCTS


def test_new_scores_take_effect_at_once(shop, settings):
    settings.SERVING_EXPLORATION = 0.0
    placement, pool, _ = shop
    pool_scores_upsert(pool=pool, rows=_scores("vip", [0]))
    assert set(_serves(placement, "vip", 50)) == {"P-00"}

    pool_scores_upsert(pool=pool, rows=[{"sku": "P-01", "segment": "vip", "score": 5.0}])

    assert set(_serves(placement, "vip", 200)) == {"P-00", "P-01"}


def test_each_campaign_on_a_placement_is_ranked_among_its_own_products(shop):
    placement, pool, _ = shop
    other = CampaignFactory(pool=pool)
    other.placements.add(placement)
    for sku in ("Q-1", "Q-2"):
        CreativeFactory(campaign=other, product_key=ProductFactory(sku=sku).sku)
    pool_scores_upsert(pool=pool, rows=_scores("students", [0]) + [{"sku": "Q-2", "segment": "students", "score": -99}])

    served = _serves(placement, "students")

    # Each campaign shows its own top products: P-00 of the first, Q-2 (its only ranked one) of the other.
    assert set(served) == {"P-00", "Q-2"}


def test_the_serve_api_passes_the_segment_on(client, shop, settings):
    settings.SERVING_EXPLORATION = 0.0
    placement, pool, _ = shop
    key = placement_key_issue(placement=placement)
    pool_scores_upsert(pool=pool, rows=_scores("students", [7]))

    bodies = [
        client.get(
            f"/api/v1/serve/{placement.pk}", {"size": "300x250", "segment": "students"}, HTTP_X_PLACEMENT_KEY=key
        ).json()
        for _ in range(20)
    ]

    assert {tuple(b["product_skus"]) for b in bodies} == {("P-07",)}


def test_repeat_serves_with_segments_run_no_query(shop, django_assert_num_queries):
    placement, pool, _ = shop
    pool_scores_upsert(pool=pool, rows=_scores("students", [1, 2]) + _scores("", [3]))
    _serves(placement, "students", 1)
    _serves(placement, "", 1)

    with django_assert_num_queries(0):  # rankings come from the cache, whatever segment is sent
        _serves(placement, "students", 50)
        _serves(placement, "a-segment-never-seen-before", 50)


def test_another_process_reads_the_rankings_from_the_shared_cache(shop, django_assert_num_queries):
    placement, pool, _ = shop
    pool_scores_upsert(pool=pool, rows=_scores("students", [1, 2]))
    _serves(placement, "students", 1)  # this process computes the ranking and shares it
    serving_cache._local.clear()  # a second web process: nothing looked up yet

    with django_assert_num_queries(1):  # its candidates; the ranking is read from the shared cache
        served = _serves(placement, "students", 20)
    assert set(served) <= {"P-01", "P-02"}
