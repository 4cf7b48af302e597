"""The learning loop: a CTR model trained on rollups, validated on the latest hours, used by
candidate search only when it beats the fixed weights; and the market simulator."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from analytics.errors import NotEnoughData
from analytics.learning import active_scorer, creative_features, ctr_model_train, predicted_ctr
from analytics.models import CtrModel, Event
from analytics.simulation import market_simulate
from analytics.tests.factories import HourlyRollupFactory
from campaigns.models import AdCopySet, Campaign, Creative, Placement
from campaigns.tests.factories import CreativeFactory
from synthesis.score import context_features
from templates_app.models import Template, TemplateVersion

pytestmark = pytest.mark.django_db


def _market(templates_ctr: dict[str, float], *, hours: int = 12, per_hour: int = 400, seed: int = 0):
    """Creatives whose true CTR depends on their template only (which the fixed weights ignore)."""
    rng = np.random.default_rng(seed)
    version = TemplateVersion.objects.create(template=Template.objects.create(name="t"), number=1, spec={})
    placement = Placement.objects.create(name="feed", channel="search", sizes=[[300, 250]])
    campaign = Campaign.objects.create(name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]))
    creatives = []
    for i in range(12):
        template = list(templates_ctr)[i % len(templates_ctr)]
        components = {"harmony": float(rng.uniform(0.3, 1)), "prominence": float(rng.uniform(0.3, 1))}
        creatives.append(
            CreativeFactory(
                campaign=campaign, product_key=f"P{i}", template_version=version, file=f"c{i}.jpg",
                content_hash=str(i), aesthetic_score=float(rng.uniform(50, 90)), state=Creative.State.PENDING,
                score_breakdown=components, provenance={"template": template, "palette": {"name": "theme"}},
            )
        )  # fmt: skip
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    for h in range(hours):
        for c in creatives:
            ctr = templates_ctr[c.provenance["template"]]
            clicks = int(rng.binomial(per_hour, ctr))
            HourlyRollupFactory(
                hour=start + timedelta(hours=h), creative=c, placement=placement, impressions=per_hour, clicks=clicks
            )
    return creatives


def test_a_model_that_beats_the_fixed_weights_becomes_the_search_scorer():
    creatives = _market({"bold": 0.05, "plain": 0.01})

    model = ctr_model_train()

    assert model.active
    m = model.metrics
    assert m["auc"] > m["baseline_auc"] and m["log_loss"] < m["baseline_log_loss"]
    assert m["train_impressions"] + m["valid_impressions"] == 12 * 12 * 400
    bold = next(c for c in creatives if c.provenance["template"] == "bold")
    plain = next(c for c in creatives if c.provenance["template"] == "plain")
    assert predicted_ctr(model, creative_features(bold)) == pytest.approx(0.05, abs=0.01)
    assert predicted_ctr(model, creative_features(plain)) == pytest.approx(0.01, abs=0.005)
    scorer = active_scorer()
    ctx = {"palette": "theme", "size": (300, 250)}
    features = {"harmony": 0.5, "prominence": 0.5}
    assert scorer({**features, **context_features(template="bold", **ctx)}) > scorer(
        {**features, **context_features(template="plain", **ctx)}
    )


def test_a_model_that_does_not_beat_the_fixed_weights_stays_off():
    _market({"a": 0.02, "b": 0.02})  # nothing to learn: the template makes no difference

    model = ctr_model_train()

    assert not model.active and active_scorer() is None


def test_too_little_traffic_trains_nothing():
    _market({"a": 0.02}, hours=2, per_hour=50)
    with pytest.raises(NotEnoughData):
        ctr_model_train()
    assert CtrModel.objects.count() == 0


def test_thompson_sampling_through_the_real_code_earns_more_than_rotation():
    campaigns_before = Campaign.objects.count()

    result = market_simulate(impressions=2500, creatives=8, hours=6, seed=3)

    assert result.clicks_thompson > result.clicks_rotation
    assert result.clicks_oracle >= result.clicks_thompson
    # rolled back: the simulation leaves nothing behind
    assert Campaign.objects.count() == campaigns_before and Event.objects.count() == 0
