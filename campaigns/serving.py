"""Serving: which approved creative a placement shows, chosen by Thompson sampling.

Each candidate creative has a Beta posterior on its click-through rate: a prior centred on
what its aesthetic score suggests (worth PRIOR_IMPRESSIONS impressions), updated by its
impressions and clicks. Drawing one sample per creative and showing the highest lets new
creatives be explored and poor ones fade. Counts come from a cache the analytics rollups
refresh (`creative_stats_cache_set`), never from raw events on the request path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import numpy as np
from django.core import signing
from django.core.cache import cache
from django.utils import timezone

from creativeadmin.errors import ApplicationError, NotFoundError

from .models import Campaign, Creative, Placement

PRIOR_IMPRESSIONS = 200.0
STATS_CACHE_KEY = "serving:creative-stats:{campaign_id}"
TRACKING_SALT = "campaigns.tracking"


class PlacementKeyInvalid(ApplicationError):
    status_code = 401
    default_code = "invalid_key"


def placement_key_issue(*, placement: Placement) -> str:
    """A new API key for the placement (the old one stops working). Shown once; only its hash is kept."""
    prefix = secrets.token_hex(4)
    key = f"pk_{prefix}_{secrets.token_urlsafe(32)}"
    placement.key_prefix = prefix
    placement.key_hash = hashlib.sha256(key.encode()).hexdigest()
    placement.key_revoked_at = None
    placement.save(update_fields=["key_prefix", "key_hash", "key_revoked_at"])
    return key


def placement_key_revoke(*, placement: Placement) -> None:
    placement.key_revoked_at = timezone.now()
    placement.save(update_fields=["key_revoked_at"])


def placement_for_key(key: str) -> Placement:
    """The placement a key belongs to; PlacementKeyInvalid for unknown, malformed or revoked keys."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "pk":
        raise PlacementKeyInvalid("Malformed placement key.")
    placement = Placement.objects.filter(key_prefix=parts[1]).first()
    digest = hashlib.sha256(key.encode()).hexdigest()
    if placement is None or not hmac.compare_digest(placement.key_hash, digest):
        raise PlacementKeyInvalid("Unknown placement key.")
    if placement.key_revoked_at is not None:
        raise PlacementKeyInvalid("This placement key has been revoked.", code="revoked_key")
    return placement


def creative_stats_cache_set(*, campaign_id: int, stats: dict[int, tuple[int, int]]) -> None:
    """Called by the analytics rollups: creative id -> (impressions, clicks)."""
    cache.set(STATS_CACHE_KEY.format(campaign_id=campaign_id), stats, timeout=None)


def prior_ctr(aesthetic_score: float) -> float:
    """The CTR a creative is expected to have before any traffic: 0.5% to 3% with its score."""
    return 0.005 + 0.025 * max(0.0, min(100.0, aesthetic_score)) / 100.0


@dataclass(frozen=True)
class ServedCreative:
    creative: Creative
    impression_token: str
    click_token: str


def serve_creative(*, placement: Placement, placement_id: int, size: tuple[int, int], rng=None) -> ServedCreative:
    """The creative to show now at `size` on `placement`, with signed tracking tokens."""
    if placement.pk != placement_id:
        raise NotFoundError("No such placement for this key.")
    if size not in placement.size_list:
        sizes = ", ".join(f"{w}x{h}" for w, h in placement.size_list)
        raise ApplicationError(
            f"Size {size[0]}x{size[1]} is not one of this placement's sizes ({sizes}).", code="bad_size"
        )
    candidates = list(
        Creative.objects.filter(
            campaign__placements=placement,
            campaign__status=Campaign.Status.LIVE,
            state=Creative.State.APPROVED,
            format=placement.format,
            width=size[0],
            height=size[1],
        ).only(
            "id",
            "campaign_id",
            "aesthetic_score",
            "file",
            "poster",
            "format",
            "duration",
            "product_key",
            "width",
            "height",
        )
    )
    if not candidates:
        raise NotFoundError("No approved creative is live for this placement and size.", code="no_creative")
    rng = rng or np.random.default_rng()
    stats: dict[int, tuple[int, int]] = {}
    for campaign_id in {c.campaign_id for c in candidates}:
        stats.update(cache.get(STATS_CACHE_KEY.format(campaign_id=campaign_id)) or {})
    alphas, betas = [], []
    for c in candidates:
        impressions, clicks = stats.get(c.pk, (0, 0))
        p = prior_ctr(c.aesthetic_score)
        alphas.append(p * PRIOR_IMPRESSIONS + clicks)
        betas.append((1 - p) * PRIOR_IMPRESSIONS + max(0, impressions - clicks))
    chosen = candidates[int(np.argmax(rng.beta(alphas, betas)))]
    # "s" ties the click to the impression of the same serve (one counted click per impression).
    payload = {"c": chosen.pk, "p": placement.pk, "s": secrets.token_hex(8)}
    return ServedCreative(
        creative=chosen,
        impression_token=signing.dumps({**payload, "e": "impression"}, salt=TRACKING_SALT, compress=True),
        click_token=signing.dumps({**payload, "e": "click"}, salt=TRACKING_SALT, compress=True),
    )
