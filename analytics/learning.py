"""The learning loop's model: click-through predicted from what each creative is made of.

Training data are the hourly rollups (net counts) of creatives with enough impressions,
described by their aesthetic score components and their provenance (template, palette,
shape). A logistic regression is fitted on the older part of the time range and judged on
the latest slice, against the fixed aesthetic weights judged on the same slice (their
score mapped to a CTR as serving's prior does). It becomes the active scorer of candidate
search only when it beats them on log-loss and on AUC by a margin (and beats chance).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from datetime import datetime

import numpy as np
from django.db.models import Sum

from campaigns.models import Creative
from campaigns.serving import prior_ctr
from synthesis.score import DEFAULT_WEIGHTS, Scorer, context_features

from .errors import NotEnoughData
from .models import CtrModel, HourlyRollup

MIN_IMPRESSIONS = 100  # a creative with less traffic says too little about its CTR
HOLDOUT = 0.25  # the latest quarter of the hours is the validation slice
AUC_MARGIN = 0.01


def creative_features(creative: Creative) -> dict[str, float]:
    """What the model sees of a creative: its score components and its provenance as one-hots."""
    palette = creative.provenance.get("palette", "")
    palette = palette.get("name", "") if isinstance(palette, dict) else palette
    features = {name: float(creative.score_breakdown.get(name, 0.0)) for name in DEFAULT_WEIGHTS}
    features.update(
        context_features(
            template=str(creative.provenance.get("template", "")),
            palette=str(palette),
            size=(creative.width, creative.height),
        )
    )
    return features


def _cells(since: datetime | None) -> list[tuple[datetime, int, int, int]]:
    """(hour, creative id, impressions, clicks) per creative and hour, net counts."""
    rows = HourlyRollup.objects.all()
    if since is not None:
        rows = rows.filter(hour__gte=since)
    cells = rows.values("hour", "creative_id").annotate(i=Sum("impressions"), c=Sum("clicks")).order_by("hour")
    return [(r["hour"], r["creative_id"], r["i"], r["c"]) for r in cells if r["i"]]


def _weighted_auc(scores: np.ndarray, clicks: np.ndarray, impressions: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.concatenate([np.ones(len(scores)), np.zeros(len(scores))])
    w = np.concatenate([clicks, impressions - clicks]).astype(float)
    keep = w > 0
    if len(set(y[keep])) < 2:
        return float("nan")
    return float(roc_auc_score(y[keep], np.concatenate([scores, scores])[keep], sample_weight=w[keep]))


def _weighted_log_loss(p: np.ndarray, clicks: np.ndarray, impressions: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    total = impressions.sum()
    return float(-(clicks * np.log(p) + (impressions - clicks) * np.log(1 - p)).sum() / total)


def ctr_model_train(*, since: datetime | None = None) -> CtrModel:
    """Fit, validate on the latest time slice and store a CtrModel; NotEnoughData when too little traffic."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    cells = _cells(since)
    totals: dict[int, int] = defaultdict(int)
    for _, creative_id, impressions, _ in cells:
        totals[creative_id] += impressions
    eligible = {c for c, n in totals.items() if n >= MIN_IMPRESSIONS}
    cells = [cell for cell in cells if cell[1] in eligible]
    hours = sorted({cell[0] for cell in cells})
    if len(eligible) < 4 or len(hours) < 4:
        raise NotEnoughData(
            f"{len(eligible)} creatives with >= {MIN_IMPRESSIONS} impressions over {len(hours)} hours; "
            "need at least 4 of each"
        )
    cutoff = hours[int(len(hours) * (1 - HOLDOUT))]
    creatives = {c.pk: c for c in Creative.objects.filter(pk__in=eligible)}
    features = {pk: creative_features(c) for pk, c in creatives.items()}

    def aggregate(part):
        sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for _, creative_id, impressions, clicks in part:
            sums[creative_id][0] += impressions
            sums[creative_id][1] += clicks
        ids = sorted(sums)
        return ids, np.array([sums[i][0] for i in ids]), np.array([sums[i][1] for i in ids])

    train_ids, train_imp, train_clk = aggregate([c for c in cells if c[0] < cutoff])
    valid_ids, valid_imp, valid_clk = aggregate([c for c in cells if c[0] >= cutoff])
    vectorizer = DictVectorizer(sparse=False)
    x_train = vectorizer.fit_transform([features[i] for i in train_ids])
    # One row per outcome, weighted by its count: clicks as 1s, the other impressions as 0s.
    x = np.vstack([x_train, x_train])
    y = np.concatenate([np.ones(len(train_ids)), np.zeros(len(train_ids))])
    w = np.concatenate([train_clk, train_imp - train_clk]).astype(float)
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(x[w > 0], y[w > 0], sample_weight=w[w > 0])

    x_valid = vectorizer.transform([features[i] for i in valid_ids])
    p_model = model.predict_proba(x_valid)[:, 1]
    p_fixed = np.array([prior_ctr(creatives[i].aesthetic_score) for i in valid_ids])
    metrics = {
        "auc": _weighted_auc(p_model, valid_clk, valid_imp),
        "log_loss": _weighted_log_loss(p_model, valid_clk, valid_imp),
        "baseline_auc": _weighted_auc(p_fixed, valid_clk, valid_imp),
        "baseline_log_loss": _weighted_log_loss(p_fixed, valid_clk, valid_imp),
        "train_creatives": len(train_ids),
        "train_impressions": int(train_imp.sum()),
        "valid_creatives": len(valid_ids),
        "valid_impressions": int(valid_imp.sum()),
        "validated_from": cutoff.isoformat(),
    }
    # A win by noise is no win: the AUC must clear the baseline (and chance) by AUC_MARGIN.
    beats = (
        metrics["auc"] >= max(metrics["baseline_auc"], 0.5) + AUC_MARGIN
        and metrics["log_loss"] <= metrics["baseline_log_loss"]
    )
    logits = model.decision_function(x_train)
    return CtrModel.objects.create(
        feature_names=list(vectorizer.get_feature_names_out()),
        coefficients=[float(c) for c in model.coef_[0]],
        intercept=float(model.intercept_[0]),
        logit_quantiles=[float(q) for q in np.quantile(logits, np.linspace(0, 1, 101))],
        metrics={k: (round(v, 5) if isinstance(v, float) and not math.isnan(v) else v) for k, v in metrics.items()},
        active=bool(beats),
    )


def predicted_ctr(model: CtrModel, features: dict[str, float]) -> float:
    weights = dict(zip(model.feature_names, model.coefficients, strict=True))
    logit = model.intercept + sum(weights.get(k, 0.0) * v for k, v in features.items())
    return 1 / (1 + math.exp(-logit))


def learned_scorer(model: CtrModel) -> Scorer:
    """A candidate-search scorer: the model's logit as a 0-100 percentile of its training creatives."""
    weights = dict(zip(model.feature_names, model.coefficients, strict=True))
    quantiles = model.logit_quantiles

    def score(features) -> float:
        logit = model.intercept + sum(weights.get(k, 0.0) * v for k, v in features.items())
        return float(min(100, bisect.bisect_left(quantiles, logit)))  # monotone in predicted CTR

    return score


def active_scorer() -> Scorer | None:
    """The latest model's scorer if it beat the fixed weights when validated, else None (fixed weights)."""
    model = CtrModel.objects.order_by("-trained_at").first()
    return learned_scorer(model) if model is not None and model.active else None
