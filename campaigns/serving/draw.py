"""The draw: which approved creative a placement shows, chosen by Thompson sampling.

Each candidate creative has a Beta posterior on its click-through rate: a prior centred on
what its aesthetic score suggests (worth SERVING_PRIOR_IMPRESSIONS impressions), updated by its
impressions and clicks. Drawing one sample per creative and showing the highest lets new
creatives be explored and poor ones fade. Counts come from a cache the analytics rollups
refresh (`creative_stats_cache_set`), never from raw events on the request path.

A campaign with a product pool narrows the draw for an audience segment to creatives of the
products its pool ranks highest for that segment; the rankings are computed once per change
of scores (or of anything else serving depends on) and shared through the cache."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from creativeadmin.errors import ApplicationError, NotFoundError

from ..errors import PlacementPaused
from ..models import Campaign, Creative, Placement, PoolEntry
from .cache import creative_stats, remember, serving_version
from .tokens import tracking_tokens

POOL_TOP_PRODUCTS = 10  # a segment is shown creatives of the products its pool ranks in this top
# A campaign's pool ranking at one placement size, in the shared cache per serving version: any
# change that could alter it (scores, the campaign's pool, its creatives) announces a new version,
# so an entry is never stale, and superseded ones expire by themselves.
POOL_RANKING_KEY = "serving:pool-ranking:{placement_id}:{format}:{width}x{height}:{campaign_id}:{version}"
POOL_RANKING_TTL = 3600
SERVED_FIELDS = (
    "id", "campaign_id", "aesthetic_score", "file", "poster", "format", "duration", "product_key", "width", "height",
)  # fmt: skip


_threads = threading.local()


def _thread_rng() -> np.random.Generator:
    """One generator per thread (seeding a new one costs more than the sampling; they are not thread-safe)."""
    rng = getattr(_threads, "rng", None)
    if rng is None:
        rng = _threads.rng = np.random.default_rng()
    return rng


def prior_ctr(aesthetic_score: float) -> float:
    """The CTR a creative is expected to have before any traffic: 0.5% to 3% with its score."""
    return 0.005 + 0.025 * max(0.0, min(100.0, aesthetic_score)) / 100.0


@dataclass(frozen=True)
class ServedCreative:
    creative: Creative
    impression_token: str
    click_token: str
    serve_id: str = ""
    video_token: str = ""  # VAST answers only: one token for the playback events (start ... complete, error)


def _pool_ranking_query(pool_id: int, skus: set[str]) -> dict[str, frozenset[str]]:
    """segment -> the skus among `skus` that the pool ranks in the segment's top POOL_TOP_PRODUCTS."""

    ranked = (
        PoolEntry.objects.filter(pool_id=pool_id, product__sku__in=skus)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("segment")], order_by=[F("interest").desc(), F("product__sku").asc()]
            )
        )
        .filter(rank__lte=POOL_TOP_PRODUCTS)
        .values_list("segment", "product__sku")
    )
    ranking: dict[str, set[str]] = {}
    for segment, sku in ranked:
        ranking.setdefault(segment, set()).add(sku)
    return {segment: frozenset(top) for segment, top in ranking.items()}


def _pool_rankings(candidates: list[Creative], slot: tuple, version: str) -> dict[int, dict[str, frozenset[str]]]:
    """Campaign id -> its pool's ranking of the products that have a candidate creative in `slot`.

    Ranked among the products a campaign can show here, so the top products always have
    creatives to serve. From the shared cache; the first process to need one after a change
    computes it for all of them.
    """
    skus: dict[tuple[int, int], set[str]] = {}
    for creative in candidates:
        if creative.campaign.pool_id is not None:
            key = (creative.campaign_id, creative.campaign.pool_id)
            skus.setdefault(key, set()).update(creative.product_key.split("+"))
    placement_id, media_format, (width, height) = slot
    rankings = {}
    for (campaign_id, pool_id), products in skus.items():
        key = POOL_RANKING_KEY.format(
            placement_id=placement_id, format=media_format, width=width, height=height, campaign_id=campaign_id,
            version=version,
        )  # fmt: skip
        ranking = cache.get(key)
        if ranking is None:
            ranking = _pool_ranking_query(pool_id, products)
            cache.set(key, ranking, timeout=POOL_RANKING_TTL)
        rankings[campaign_id] = ranking
    return rankings


@dataclass
class _Candidates:
    """Creatives one draw is among, with what the draw needs of each laid out once (not per request)."""

    creatives: list[Creative]
    ids: list[int] = field(init=False)
    prior_ctrs: np.ndarray = field(init=False)
    campaign_ids: frozenset[int] = field(init=False)
    # (prior weight, the statistics it was computed from, (alphas, betas), gamma shapes): see posterior(), draw().
    _posterior: tuple | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.ids = [c.pk for c in self.creatives]
        self.prior_ctrs = np.array([prior_ctr(c.aesthetic_score) for c in self.creatives], dtype=float)
        self.campaign_ids = frozenset(c.campaign_id for c in self.creatives)

    def posterior(self, stats: tuple[dict, ...], prior_weight: float) -> tuple[np.ndarray, np.ndarray]:
        """Each creative's Beta(alpha, beta) on its CTR: the prior worth `prior_weight` impressions, updated by
        its impressions and clicks in `stats` (creative_stats). Kept while the same statistics come back
        (each process re-reads them every STATS_TTL), rather than laid out again on every serve."""
        kept = self._posterior
        if kept is not None and kept[0] == prior_weight and len(kept[1]) == len(stats):
            if all(old is new for old, new in zip(kept[1], stats, strict=True)):
                return kept[2]
        merged: dict[int, tuple[int, int]] = {}
        for of_campaign in stats:
            merged.update(of_campaign)
        counts = np.array([merged.get(i, (0, 0)) for i in self.ids], dtype=float)
        impressions, clicks = counts[:, 0], counts[:, 1]
        alphas = self.prior_ctrs * prior_weight + clicks
        betas = (1 - self.prior_ctrs) * prior_weight + np.maximum(0, impressions - clicks)
        # draw()'s shapes: alpha and beta of each creative in turn, when numpy draws all its Betas from gammas.
        shapes = None
        if np.all(alphas > 0) and np.all(betas > 0) and not np.any((alphas <= 1) & (betas <= 1)):
            shapes = np.empty(2 * len(alphas))
            shapes[0::2], shapes[1::2] = alphas, betas
        self._posterior = (prior_weight, stats, (alphas, betas), shapes)
        return alphas, betas

    def draw(self, rng: np.random.Generator, stats: tuple[dict, ...], prior_weight: float) -> Creative:
        """Thompson sampling: the creative whose sample of its posterior (see posterior()) is the highest.

        The samples are `rng.beta(alphas, betas)`'s, bit for bit and leaving `rng` in the same state:
        where alpha or beta exceeds 1 numpy draws Beta(a, b) as X / (X + Y) from a gamma variate of
        each shape in turn, so one standard_gamma call over the shapes laid out in that order draws
        them all, without beta()'s checks of its arguments (a third of the draw's time)."""
        alphas, betas = self.posterior(stats, prior_weight)
        shapes = self._posterior[3]
        if shapes is None:  # a creative with both shapes <= 1 (numpy draws those otherwise), or a bad prior
            samples = rng.beta(alphas, betas)
        else:
            variates = rng.standard_gamma(shapes)
            x = variates[0::2]
            samples = x / (x + variates[1::2])
        return self.creatives[int(np.argmax(samples))]

    def without(self, campaign_ids: set[int]) -> _Candidates:
        return _Candidates([c for c in self.creatives if c.campaign_id not in campaign_ids])


@dataclass
class _Slot:
    """What a placement may show at one size (approved creatives of its live campaigns), with the
    campaigns' pool rankings and the creatives each ranking keeps; looked up once per serving version."""

    creatives: list[Creative]
    rankings: dict[int, dict[str, frozenset[str]]]
    _by_segment: dict[str, _Candidates] = field(default_factory=dict)
    schedules: dict[int, tuple] = field(init=False)  # campaign id -> (starts_at, ends_at)

    def __post_init__(self) -> None:
        self.schedules = {c.campaign_id: (c.campaign.starts_at, c.campaign.ends_at) for c in self.creatives}

    def for_segment(self, segment: str) -> _Candidates:
        """Per campaign with a ranking, its creatives showing one of its top products for `segment`
        (else for everyone, segment ""); a campaign keeps every creative without such a ranking."""
        # Kept per ranking used, not per segment sent: every unknown segment shares one entry.
        ranked = segment if any(segment in r for r in self.rankings.values()) else ""
        kept = self._by_segment.get(ranked)
        if kept is None:
            by_campaign: dict[int, list[Creative]] = {}
            for creative in self.creatives:
                by_campaign.setdefault(creative.campaign_id, []).append(creative)
            creatives = []
            for campaign_id, of_campaign in by_campaign.items():
                ranking = self.rankings.get(campaign_id) or {}
                top = ranking.get(ranked) or ranking.get("")
                preferred = [c for c in of_campaign if not top.isdisjoint(c.product_key.split("+"))] if top else []
                creatives.extend(preferred or of_campaign)
            kept = self._by_segment[ranked] = _Candidates(creatives)
        return kept

    def closed_campaigns(self, now) -> set[int]:
        """Campaigns whose schedule does not include `now`."""
        return {
            campaign_id
            for campaign_id, (starts_at, ends_at) in self.schedules.items()
            if (starts_at is not None and now < starts_at) or (ends_at is not None and now >= ends_at)
        }


def _slot_load(placement: Placement, size: tuple[int, int], version: str) -> _Slot:
    creatives = list(
        Creative.objects.filter(
            campaign__placements=placement,
            campaign__status=Campaign.Status.LIVE,
            state=Creative.State.APPROVED,
            format=placement.format,
            width=size[0],
            height=size[1],
        )
        .select_related("campaign")
        .only(*SERVED_FIELDS, "campaign__starts_at", "campaign__ends_at", "campaign__pool")
    )
    return _Slot(creatives, _pool_rankings(creatives, (placement.pk, placement.format, size), version))


def serve_creative(
    *,
    placement: Placement,
    placement_id: int,
    size: tuple[int, int],
    segment: str = "",
    rng=None,
    video_events: bool = False,
) -> ServedCreative:
    """The creative to show now at `size` on `placement`, with signed tracking tokens.

    A campaign with a product pool shows creatives of the POOL_TOP_PRODUCTS products its pool
    ranks highest for `segment` (among those with a creative of this size); a segment the pool
    has no scores for (and a request without one) gets the ranking for everyone (segment ""),
    and all of the campaign's creatives when the pool has none. Repeat serves run no query.
    """
    if placement.pk != placement_id:
        raise NotFoundError("No such placement for this key.")
    if placement.archived_at is not None:
        raise PlacementPaused("This placement is archived; nothing is served to it.", code="placement_archived")
    if not placement.active:
        raise PlacementPaused("This placement is paused; nothing is served to it.")
    if size not in placement.size_list:
        sizes = ", ".join(f"{w}x{h}" for w, h in placement.size_list)
        raise ApplicationError(
            f"Size {size[0]}x{size[1]} is not one of this placement's sizes ({sizes}).", code="bad_size"
        )
    version = serving_version()
    slot = remember(
        ("candidates", placement.pk, placement.format, size),
        lambda: _slot_load(placement, size, version),
        version=version,
    )
    candidates = slot.for_segment(segment)
    if closed := slot.closed_campaigns(timezone.now()):
        candidates = candidates.without(closed)
    if not candidates.creatives:
        raise NotFoundError("No approved creative is live for this placement and size.", code="no_creative")
    rng = rng or _thread_rng()
    stats = creative_stats(candidates.campaign_ids, version=version)
    if rng.random() < settings.SERVING_EXPLORATION:
        # A small share of uniform choices: unbiased traffic for every creative, which the CTR model
        # learns from (Thompson sampling alone soon shows the leader almost always).
        chosen = candidates.creatives[int(rng.integers(len(candidates.creatives)))]
    else:
        chosen = candidates.draw(rng, stats, settings.SERVING_PRIOR_IMPRESSIONS)
    # "s" ties the click to the impression of the same serve (one counted click per impression).
    payload = {"c": chosen.pk, "p": placement.pk, "s": secrets.token_hex(8)}
    if segment:
        payload["g"] = segment  # the audience segment travels with the events, into the rollups
    events = ("impression", "click", "video") if video_events else ("impression", "click")
    tokens = tracking_tokens([{**payload, "e": event} for event in events])
    return ServedCreative(
        creative=chosen,
        impression_token=tokens[0],
        click_token=tokens[1],
        serve_id=payload["s"],
        video_token=tokens[2] if video_events else "",
    )
