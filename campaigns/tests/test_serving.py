"""Serving: placements authenticate with their key and get an approved, live creative of their size."""

import numpy as np
import pytest
from django.core.cache import cache
from django.db import transaction

from campaigns.api.throttling import PlacementRateThrottle, rate_counts_forget
from campaigns.models import AdCopySet, Campaign, Creative, Placement
from campaigns.services import campaign_go_live, creatives_review
from campaigns.serving import (
    creative_stats_cache_set,
    placement_key_issue,
    placement_key_revoke,
    prior_ctr,
    serve_creative,
    serving_changed,
)
from campaigns.tests.factories import CreativeFactory
from templates_app.models import Template, TemplateVersion

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean(media):
    cache.clear()
    rate_counts_forget()


@pytest.fixture
def setup():
    placement = Placement.objects.create(name="feed", channel="recommendation", sizes=[[300, 250], [728, 90]])
    other = Placement.objects.create(name="search", channel="search", sizes=[[300, 250]])
    template = Template.objects.create(name="t")
    version = TemplateVersion.objects.create(template=template, number=1, spec={})
    campaign = Campaign.objects.create(name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]))
    campaign.placements.add(placement)

    def creative(key, state, score, size=(300, 250)):
        return CreativeFactory(
            campaign=campaign,
            product_key=key,
            template_version=version,
            width=size[0],
            height=size[1],
            aesthetic_score=score,
            state=state,
            stored_file=b"jpeg",
        )

    good = creative("A", Creative.State.APPROVED, 80)
    poor = creative("B", Creative.State.APPROVED, 80)
    creative("C", Creative.State.PENDING, 99)
    creative("D", Creative.State.APPROVED, 90, size=(728, 90))
    campaign_go_live(campaign=campaign)
    return placement, other, placement_key_issue(placement=placement), good, poor


def _serve(client, placement_id, key, size="300x250"):
    return client.get(f"/api/v1/serve/{placement_id}", {"size": size}, HTTP_X_PLACEMENT_KEY=key)


def test_a_placement_gets_an_approved_creative_of_its_size_with_tracking_urls(client, setup):
    placement, _, key, good, poor = setup

    body = _serve(client, placement.pk, key).json()

    assert body["creative_id"] in {good.pk, poor.pk}  # never the pending one
    assert (body["width"], body["height"]) == (300, 250)
    assert body["impression_url"].startswith("http://testserver/t/i/") and "/t/c/" in body["click_url"]


def test_unknown_malformed_and_revoked_keys_get_401(client, setup):
    placement, _, key, _, _ = setup

    assert _serve(client, placement.pk, "pk_deadbeef_nope").status_code == 401
    assert _serve(client, placement.pk, "garbage").status_code == 401
    assert client.get(f"/api/v1/serve/{placement.pk}", {"size": "300x250"}).status_code == 401
    placement_key_revoke(placement=placement)
    revoked = _serve(client, placement.pk, key)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["message"]


def test_another_placements_id_is_404_and_a_foreign_size_is_400(client, setup):
    placement, other, key, _, _ = setup

    assert _serve(client, other.pk, key).status_code == 404
    bad_size = _serve(client, placement.pk, key, size="1080x1080")
    assert bad_size.status_code == 400 and bad_size.json()["code"] == "bad_size"


@pytest.mark.parametrize(
    "size", ["\u0661\u0660\u0668\u0660x\u0661\u0660\u0668\u0660", "\uff13\uff10\uff10x\uff12\uff15\uff10"]
)
def test_a_size_in_digits_of_another_script_is_refused(client, setup, size):
    # Must hold: only ASCII digits make a size (Arabic-Indic or full-width digits were read as 1080x1080).
    placement, _, key, _, _ = setup

    response = _serve(client, placement.pk, key, size=size)

    assert response.status_code == 400 and "size" in response.json()["extra"]["fields"]


def test_a_segment_with_a_null_character_is_refused_before_it_is_signed_into_tokens(client, setup):
    # Must hold: a NUL never reaches the tokens (the pixel's insert would fail on PostgreSQL, a shopper's
    # click would get no redirect); the serve is a 400 naming the segment.
    placement, _, key, _, _ = setup

    response = client.get(
        f"/api/v1/serve/{placement.pk}", {"size": "300x250", "segment": "a\x00b"}, HTTP_X_PLACEMENT_KEY=key
    )

    assert response.status_code == 400 and "segment" in response.json()["extra"]["fields"]


def test_an_unknown_format_is_a_400_naming_the_formats_not_a_404(client, setup):
    # Must hold: ?format=xyz is refused as a bad parameter (a 404 read as "no such placement").
    placement, _, key, _, _ = setup

    response = client.get(
        f"/api/v1/serve/{placement.pk}", {"size": "300x250", "format": "xyz"}, HTTP_X_PLACEMENT_KEY=key
    )

    assert response.status_code == 400 and "vast" in str(response.json()["extra"]["fields"]["format"])


def test_the_key_is_stored_only_as_a_hash(setup):
    placement, _, key, _, _ = setup
    placement.refresh_from_db()

    assert key not in (placement.key_hash, placement.key_prefix)
    assert len(placement.key_hash) == 64


def test_thompson_sampling_favours_the_creative_that_earns_clicks(setup):
    placement, _, _, good, poor = setup
    creative_stats_cache_set(campaign_id=good.campaign_id, stats={good.pk: (2000, 120), poor.pk: (2000, 4)})
    rng = np.random.default_rng(0)

    picks = [
        serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250), rng=rng).creative.pk
        for _ in range(300)
    ]

    assert picks.count(good.pk) > 0.95 * len(picks)


@pytest.mark.parametrize(
    "prior_impressions, counts",
    [(50.0, [(100, 5), (100, 1)]), (0.5, [(0, 0), (0, 0)])],  # the second: shapes <= 1, drawn otherwise by numpy
)
def test_the_draw_picks_the_highest_sample_of_the_beta_posteriors(setup, settings, prior_impressions, counts):
    placement, _, _, good, poor = setup
    settings.SERVING_EXPLORATION = 0.0
    settings.SERVING_PRIOR_IMPRESSIONS = prior_impressions
    creatives = sorted([good, poor], key=lambda c: c.product_key)  # the draw sees them in Creative's ordering
    stats = {c.pk: n for c, n in zip(creatives, counts, strict=True)}
    creative_stats_cache_set(campaign_id=good.campaign_id, stats=stats)
    p = [prior_ctr(c.aesthetic_score) for c in creatives]
    alphas = [p[i] * prior_impressions + clicks for i, (_, clicks) in enumerate(counts)]
    betas = [(1 - p[i]) * prior_impressions + shown - clicks for i, (shown, clicks) in enumerate(counts)]
    served, expected = np.random.default_rng(5), np.random.default_rng(5)

    for _ in range(200):
        expected.random()  # the exploration coin
        best = creatives[int(np.argmax(expected.beta(alphas, betas)))]

        chosen = serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250), rng=served).creative

        assert chosen.pk == best.pk


def test_new_creatives_are_still_explored_without_data(setup):
    placement, _, _, good, poor = setup
    rng = np.random.default_rng(1)

    picks = {
        serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250), rng=rng).creative.pk
        for _ in range(100)
    }

    assert picks == {good.pk, poor.pk}


def test_paused_campaigns_are_not_served(client, setup):
    placement, _, key, good, _ = setup
    campaign = Campaign.objects.get(pk=good.campaign_id)
    campaign.status = Campaign.Status.PAUSED
    campaign.save()  # as the admin does

    response = _serve(client, placement.pk, key)

    assert response.status_code == 404 and response.json()["code"] == "no_creative"


@pytest.mark.django_db(transaction=True)  # real commits: the announcement on commit is what is tested
def test_a_serve_between_a_change_and_its_commit_does_not_keep_the_old_rows(client, setup):
    """A save announces the change at once, inside its transaction: a serve in another process before
    the commit still reads the old rows and keeps them under the new version. Announced again on
    commit, the old rows are dropped (else a paused campaign is served on for LOCAL_TTL)."""
    placement, _, key, good, _ = setup
    with transaction.atomic():
        serving_changed()  # what the campaign's post_save says, before its transaction commits
        assert _serve(client, placement.pk, key).status_code == 200  # another process, old rows
        Campaign.objects.filter(pk=good.campaign_id).update(status=Campaign.Status.PAUSED)

    assert _serve(client, placement.pk, key).status_code == 404


def test_requests_over_the_rate_get_429_with_retry_after(client, setup, monkeypatch):
    placement, _, key, _, _ = setup
    monkeypatch.setattr(PlacementRateThrottle, "THROTTLE_RATES", {"placement": "2/min"})
    monkeypatch.setattr(PlacementRateThrottle, "timer", lambda self: 1_000_000.0)  # mid-window: no reset mid-test

    codes = [_serve(client, placement.pk, key).status_code for _ in range(3)]
    limited = _serve(client, placement.pk, key)

    assert codes[:2] == [200, 200] and limited.status_code == 429
    assert int(limited["Retry-After"]) > 0


def test_a_repeat_serve_runs_no_query_and_still_sees_every_change(client, setup, django_assert_num_queries):
    placement, _, key, good, poor = setup
    assert _serve(client, placement.pk, key).status_code == 200

    with django_assert_num_queries(0):  # key, candidates and statistics come from the caches
        for _ in range(5):
            assert _serve(client, placement.pk, key).status_code == 200

    creatives_review(creatives=[good, poor], approve=False)  # as if done in another process: announced
    assert _serve(client, placement.pk, key).status_code == 404
    placement_key_revoke(placement=placement)
    assert _serve(client, placement.pk, key).status_code == 401


def test_the_rate_limit_is_exact_within_a_process_and_shared_through_the_cache(client, setup, monkeypatch):
    placement, _, key, _, _ = setup
    monkeypatch.setattr(PlacementRateThrottle, "THROTTLE_RATES", {"placement": "100/min"})
    monkeypatch.setattr(PlacementRateThrottle, "timer", lambda self: 1_000_000.0)

    codes = [_serve(client, placement.pk, key).status_code for _ in range(130)]
    assert codes.count(200) == 100 and set(codes[100:]) == {429}

    # Another web process (a fresh local state) sees the same spent budget in the shared cache.
    rate_counts_forget()
    assert _serve(client, placement.pk, key).status_code == 429


def test_a_paused_placement_is_served_nothing(client, setup):
    placement, _, key, _, _ = setup
    placement.active = False
    placement.save()

    response = _serve(client, placement.pk, key)

    assert response.status_code == 403 and response.json()["code"] == "placement_paused"


def test_campaigns_are_served_only_within_their_schedule(client, setup):
    from datetime import timedelta

    from django.utils import timezone

    placement, _, key, good, _ = setup
    campaign = Campaign.objects.get(pk=good.campaign_id)
    now = timezone.now()
    for starts, ends, expected in [
        (now + timedelta(hours=1), None, 404),  # not started yet
        (None, now - timedelta(minutes=1), 404),  # over
        (now - timedelta(hours=1), now + timedelta(hours=1), 200),  # running
    ]:
        campaign.starts_at, campaign.ends_at = starts, ends
        campaign.save()
        assert _serve(client, placement.pk, key).status_code == expected, (starts, ends)
