"""A market simulator: does the learning loop earn clicks? (`manage.py market_simulate`)

Creatives get hidden true click-through rates that depend on their features (two score
components, the template, the palette) and on the user's segment. Simulated users by
segment then meet the real code paths in-process: `serve_creative` picks what to show
(Thompson sampling on the statistics the rollups put in the cache), `event_record` stores
the impression and, when the simulated user clicks, the click; every simulated hour the
rollups are rebuilt and serving's statistics refreshed, as celery beat does. A simulated
clock stands in for `timezone.now` (and for the clock tokens are signed by) so the events spread over hours.

The same users (segment and click draw per impression) are replayed against uniform
rotation (a plain ad server) and against the oracle that knows the true rates. Finally the
CTR model is trained on the simulated rollups and its predictions are rank-correlated with
the hidden rates. Everything runs in one transaction that is rolled back unless asked to keep.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

import numpy as np
from django.db import transaction
from django.utils import timezone

SEGMENTS = {"new": -0.25, "returning": 0.0, "loyal": 0.3}  # logit shift: segments differ in how much they click
TEMPLATES = {"sim-hero": 0.35, "sim-podium": 0.0, "sim-grid": -0.35}
PALETTES = {"theme": 0.2, "complement": 0.0, "light": -0.1, "dark": -0.2}
USER_AGENT = "Mozilla/5.0 (simulated shopper)"


@dataclass(frozen=True)
class SimulationResult:
    impressions: int
    creatives: int
    hours: int
    clicks_thompson: int
    clicks_rotation: int
    clicks_oracle: int
    model_spearman: float | None
    model_metrics: dict | None

    @property
    def share_of_oracle(self) -> float:
        return self.clicks_thompson / self.clicks_oracle if self.clicks_oracle else 0.0


class _Rollback(Exception):
    pass


@contextmanager
def _simulated_clock(start):
    """`timezone.now` and the clock tracking tokens are signed and read by (serving's `time.time`) both
    show the simulated time: an event's time must lie within its token's lifetime."""
    now = {"t": start}
    serving_time = SimpleNamespace(time=lambda: now["t"].timestamp(), monotonic=time.monotonic)
    with (
        mock.patch("django.utils.timezone.now", lambda: now["t"]),
        mock.patch("campaigns.serving.tokens.time", serving_time),
    ):
        yield now


def _true_logit(features: dict, segment: str) -> float:
    return (
        -4.1
        + 2.4 * (features["harmony"] - 0.6)
        + 2.0 * (features["prominence"] - 0.6)
        + TEMPLATES[features["template"]]
        + PALETTES[features["palette"]]
        + SEGMENTS[segment]
    )


def market_simulate(
    *, impressions: int = 100_000, creatives: int = 24, hours: int = 48, seed: int = 0, keep: bool = False
) -> SimulationResult:
    try:
        with transaction.atomic():
            result = _simulate(impressions, creatives, hours, seed)
            if not keep:
                raise _Rollback
    except _Rollback:
        pass
    return result


def _simulate(n_impressions: int, n_creatives: int, hours: int, seed: int) -> SimulationResult:
    from campaigns.models import AdCopySet, Campaign, Creative, Placement
    from campaigns.serving import serve_creative, serving_changed
    from synthesis.score import DEFAULT_WEIGHTS, weighted_score
    from templates_app.models import Template, TemplateVersion

    from .errors import NotEnoughData
    from .learning import creative_features, ctr_model_train, predicted_ctr
    from .services import event_record, rollups_build, serving_stats_refresh

    rng = np.random.default_rng(seed)
    template = Template.objects.create(name=f"market-simulation-{seed}-{rng.integers(1 << 30)}")
    version = TemplateVersion.objects.create(template=template, number=1, spec={})
    placement = Placement.objects.create(name=f"{template.name} feed", channel="recommendation", sizes=[[300, 250]])
    campaign = Campaign.objects.create(
        name=template.name,
        copy=AdCopySet.objects.create(name=template.name, titles=["sim"]),
        status="live",
        landing_url="https://shop.example.com/simulated",  # a click is recorded only on its way to a landing page
    )
    campaign.placements.add(placement)
    truth: dict[int, dict[str, float]] = {}
    rows = []
    for i in range(n_creatives):
        components = {name: float(rng.uniform(0.35, 1.0)) for name in DEFAULT_WEIGHTS}
        features = {
            **components,
            "template": list(TEMPLATES)[i % len(TEMPLATES)],
            "palette": list(PALETTES)[(i // len(TEMPLATES)) % len(PALETTES)],
        }
        creative = Creative.objects.create(
            campaign=campaign, product_key=f"SIM-{i}", template_version=version, width=300, height=250, variant=0,
            file=f"creatives/sim-{i}.jpg", content_hash=f"{i:064d}", aesthetic_score=weighted_score(components),
            score_breakdown={k: round(v, 4) for k, v in components.items()}, state=Creative.State.APPROVED,
            provenance={"template": features["template"], "palette": {"name": features["palette"]}},
        )  # fmt: skip
        rows.append(creative)
        truth[creative.pk] = {s: 1 / (1 + math.exp(-_true_logit(features, s))) for s in SEGMENTS}
    serving_changed()

    segments = rng.choice(list(SEGMENTS), size=n_impressions, p=[0.3, 0.45, 0.25])
    draws = rng.uniform(size=n_impressions)  # the user's click draw: the same for every policy
    per_hour = max(1, n_impressions // hours)
    start = (timezone.now() - timedelta(hours=hours + 1)).replace(minute=0, second=0, microsecond=0)
    serving_rng = np.random.default_rng(seed + 1)
    clicks = 0
    with _simulated_clock(start) as clock:
        for t in range(n_impressions):
            clock["t"] = start + timedelta(seconds=3600 * t / per_hour)
            served = serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250), rng=serving_rng)
            event_record(token=served.impression_token, kind="impression", user_agent=USER_AGENT)
            if draws[t] < truth[served.creative.pk][segments[t]]:
                event_record(token=served.click_token, kind="click", user_agent=USER_AGENT)
                clicks += 1
            if (t + 1) % per_hour == 0:  # the periodic task: this hour's rollups, then serving's statistics
                hour = clock["t"].replace(minute=0, second=0, microsecond=0)
                rollups_build(start=hour - timedelta(hours=1), end=hour + timedelta(hours=1))
                serving_stats_refresh()
        rollups_build(start=start, end=clock["t"] + timedelta(hours=1))

        ids = [c.pk for c in rows]
        rotation = sum(draws[t] < truth[ids[t % len(ids)]][segments[t]] for t in range(n_impressions))
        best = {s: max(truth[c][s] for c in ids) for s in SEGMENTS}
        oracle = sum(draws[t] < best[segments[t]] for t in range(n_impressions))

        try:
            model = ctr_model_train(since=start)
        except NotEnoughData:
            model = None
    spearman = None
    if model is not None:
        from scipy.stats import spearmanr

        predicted = [predicted_ctr(model, creative_features(c)) for c in rows]
        hidden = [float(np.mean(list(truth[c.pk].values()))) for c in rows]
        spearman = float(spearmanr(predicted, hidden).statistic)
    return SimulationResult(
        impressions=n_impressions,
        creatives=n_creatives,
        hours=hours,
        clicks_thompson=clicks,
        clicks_rotation=int(rotation),
        clicks_oracle=int(oracle),
        model_spearman=spearman,
        model_metrics=dict(model.metrics) if model is not None else None,
    )
