"""Serving: which approved creative a placement shows, chosen by Thompson sampling.

Each candidate creative has a Beta posterior on its click-through rate: a prior centred on
what its aesthetic score suggests (worth SERVING_PRIOR_IMPRESSIONS impressions), updated by its
impressions and clicks. Drawing one sample per creative and showing the highest lets new
creatives be explored and poor ones fade. Counts come from a cache the analytics rollups
refresh (`creative_stats_cache_set`), never from raw events on the request path.

A campaign with a product pool narrows the draw for an audience segment to creatives of the
products its pool ranks highest for that segment; the rankings are computed once per change
of scores (or of anything else serving depends on) and shared through the cache.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
import threading
import time
import zlib
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils import timezone

from creativeadmin.errors import ApplicationError, NotFoundError

from .errors import PlacementKeyInvalid, PlacementPaused
from .models import Campaign, Creative, Placement

STATS_CACHE_KEY = "serving:creative-stats:{campaign_id}"
SERVING_VERSION_KEY = "serving:version"
TRACKING_SALT = "campaigns.tracking"
LOCAL_TTL = 30.0  # seconds a process keeps what it looked up, even if no change is announced
STATS_TTL = 2.0  # statistics change once a minute (the rollups); a process re-reads them this often
VERSION_TTL = 0.25  # other processes see an announced change within this long
POOL_TOP_PRODUCTS = 10  # a segment is shown creatives of the products its pool ranks in this top
# A campaign's pool ranking at one placement size, in the shared cache per serving version: any
# change that could alter it (scores, the campaign's pool, its creatives) announces a new version,
# so an entry is never stale, and superseded ones expire by themselves.
POOL_RANKING_KEY = "serving:pool-ranking:{placement_id}:{format}:{width}x{height}:{campaign_id}:{version}"
POOL_RANKING_TTL = 3600
SERVED_FIELDS = (
    "id", "campaign_id", "aesthetic_score", "file", "poster", "format", "duration", "product_key", "width", "height",
)  # fmt: skip

# What this process has looked up for serving: key -> (serving version, expiry, value). Every
# write that changes what may be served bumps the shared serving version (serving_changed), so
# a request costs one shared-cache read instead of the queries, and no process serves stale data.
_local: dict[tuple, tuple[str, float, object]] = {}


_threads = threading.local()


def _thread_rng() -> np.random.Generator:
    """One generator per thread (seeding a new one costs more than the sampling; they are not thread-safe)."""
    rng = getattr(_threads, "rng", None)
    if rng is None:
        rng = _threads.rng = np.random.default_rng()
    return rng


@functools.lru_cache(maxsize=8)
def _tracking_keys(secret: str, fallbacks: tuple[str, ...]) -> tuple[bytes, ...]:
    # django.core.signing's HMAC key for TRACKING_SALT (salted_hmac), derived once rather than per token.
    return tuple(hashlib.sha256(f"{TRACKING_SALT}signer{key}".encode()).digest() for key in (secret, *fallbacks))


def _tracking_signature(value: str, key: bytes) -> str:
    return signing.b64_encode(hmac.digest(key, value.encode(), "sha256")).decode()


def tracking_token(payload: dict) -> str:
    """Sign a tracking payload: the same token `signing.dumps(payload, salt=TRACKING_SALT)` makes.

    Written out because serving makes two per request and ingestion reads one per event:
    django.core.signing builds a signer and derives its key on every call, a large share of
    either. Kept in its format, so tokens from either path verify on the other.
    """
    value = signing.b64_encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    value = f"{value}:{signing.b62_encode(int(time.time()))}"
    return f"{value}:{_tracking_signature(value, _tracking_keys(settings.SECRET_KEY, ())[0])}"


def tracking_token_payload(token: str, *, max_age: int) -> dict:
    """What a tracking token says, as `signing.loads(token, salt=TRACKING_SALT, max_age=max_age)` reads it.

    Raises signing.BadSignature for a forged, edited or malformed token (one signed with a key of
    SECRET_KEY_FALLBACKS is valid) and signing.SignatureExpired past `max_age` seconds.
    """
    return tracking_token_open(token, max_age=max_age)[0]


def tracking_token_open(token: str, *, max_age: int) -> tuple[dict, int]:
    """What a tracking token says and when it was signed (unix seconds): the serve's time, which
    bounds when its events can have happened. Raises as `tracking_token_payload` does."""
    value, _, signature = token.rpartition(":")
    keys = _tracking_keys(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))
    if not value or not any(
        hmac.compare_digest(signature.encode(), _tracking_signature(value, key).encode()) for key in keys
    ):
        raise signing.BadSignature("The tracking token's signature does not match.")
    data, _, timestamp = value.rpartition(":")
    try:
        signed_at = signing.b62_decode(timestamp)
        raw = signing.b64_decode(data.removeprefix(".").encode())
        payload = json.loads(zlib.decompress(raw) if data.startswith(".") else raw)
    except (ValueError, IndexError, zlib.error) as exc:  # signed, so ours: only a key reused for other data
        raise signing.BadSignature("The tracking token is malformed.") from exc
    age = time.time() - signed_at
    if age > max_age:
        raise signing.SignatureExpired(f"Signature age {age} > {max_age} seconds")
    if not isinstance(payload, dict):
        raise signing.BadSignature("The tracking token is malformed.")
    return payload, signed_at


def serving_changed() -> None:
    """Announce to every process that keys, creatives or campaigns changed (their lookups are dropped)."""
    # A random token, not a counter: after a cache flush a counter would restart and could match
    # a version some process still holds; a new token never does.
    version = secrets.token_hex(8)
    cache.set(SERVING_VERSION_KEY, version, timeout=None)
    _local[("version",)] = ("", time.monotonic() + VERSION_TTL, version)  # this process: at once


def _read_version() -> str:
    version = cache.get(SERVING_VERSION_KEY)
    if version is None:
        cache.add(SERVING_VERSION_KEY, secrets.token_hex(8), timeout=None)
        version = cache.get(SERVING_VERSION_KEY)
    return version


def _serving_version() -> str:
    """The shared serving version, re-read at most every VERSION_TTL seconds by each process."""
    return _remember(("version",), _read_version, version="", ttl=VERSION_TTL)


def _remember(key: tuple, make, *, version: str, ttl: float = LOCAL_TTL):
    now = time.monotonic()
    hit = _local.get(key)
    if hit is not None and hit[0] == version and hit[1] > now:
        return hit[2]
    value = make()
    if len(_local) > 10_000:
        _local.clear()
    _local[key] = (version, now + ttl, value)
    return value


def serving_lookup(key: tuple, make):
    """`make()`, kept by this process until a write announces a serving change (or LOCAL_TTL passes).

    For what the request path reads about keys, creatives and campaigns (the tracking endpoints
    use it too); `key` must not collide with serving's own ("placement", "candidates", ...).
    """
    return _remember(key, make, version=_serving_version())


def placement_key_issue(*, placement: Placement) -> str:
    """A new API key for the placement (the old one stops working). Shown once; only its hash is kept."""
    prefix = secrets.token_hex(4)
    key = f"pk_{prefix}_{secrets.token_urlsafe(32)}"
    placement.key_prefix = prefix
    placement.key_hash = hashlib.sha256(key.encode()).hexdigest()
    placement.key_revoked_at = None
    placement.save(update_fields=["key_prefix", "key_hash", "key_revoked_at"])
    serving_changed()
    return key


def placement_key_revoke(*, placement: Placement) -> None:
    """Refuse the placement's key from now on, and void the tracking tokens served under it: a key is
    revoked when it may have leaked, and whoever held it could serve (sign) tokens for its placement.
    Their events are still stored, flagged `revoked_key`, but never counted (analytics.services)."""
    placement.key_revoked_at = placement.tokens_revoked_before = timezone.now()
    placement.save(update_fields=["key_revoked_at", "tokens_revoked_before"])
    serving_changed()


def placement_for_key(key: str) -> Placement:
    """The placement a key belongs to; PlacementKeyInvalid for unknown, malformed or revoked keys."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "pk":
        raise PlacementKeyInvalid("Malformed placement key.")
    placement = _remember(
        ("placement", parts[1]),
        lambda: Placement.objects.filter(key_prefix=parts[1]).first(),
        version=_serving_version(),
    )
    digest = hashlib.sha256(key.encode()).hexdigest()
    if placement is None or not hmac.compare_digest(placement.key_hash, digest):
        raise PlacementKeyInvalid("Unknown placement key.")
    if placement.key_revoked_at is not None:
        raise PlacementKeyInvalid("This placement key has been revoked.", code="revoked_key")
    return placement


def creative_stats_cache_set(*, campaign_id: int, stats: dict[int, tuple[int, int]]) -> None:
    """Called by the analytics rollups: creative id -> (impressions, clicks)."""
    key = STATS_CACHE_KEY.format(campaign_id=campaign_id)
    cache.set(key, stats, timeout=None)
    _local.pop(("stats", key), None)  # this process sees them at once; others within STATS_TTL


def prior_ctr(aesthetic_score: float) -> float:
    """The CTR a creative is expected to have before any traffic: 0.5% to 3% with its score."""
    return 0.005 + 0.025 * max(0.0, min(100.0, aesthetic_score)) / 100.0


@dataclass(frozen=True)
class ServedCreative:
    creative: Creative
    impression_token: str
    click_token: str


def _pool_ranking_query(pool_id: int, skus: set[str]) -> dict[str, frozenset[str]]:
    """segment -> the skus among `skus` that the pool ranks in the segment's top POOL_TOP_PRODUCTS."""
    from django.db.models import F, Window
    from django.db.models.functions import RowNumber

    from .models import PoolEntry

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

    def __post_init__(self) -> None:
        self.ids = [c.pk for c in self.creatives]
        self.prior_ctrs = np.array([prior_ctr(c.aesthetic_score) for c in self.creatives], dtype=float)
        self.campaign_ids = frozenset(c.campaign_id for c in self.creatives)

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
    *, placement: Placement, placement_id: int, size: tuple[int, int], segment: str = "", rng=None
) -> ServedCreative:
    """The creative to show now at `size` on `placement`, with signed tracking tokens.

    A campaign with a product pool shows creatives of the POOL_TOP_PRODUCTS products its pool
    ranks highest for `segment` (among those with a creative of this size); a segment the pool
    has no scores for (and a request without one) gets the ranking for everyone (segment ""),
    and all of the campaign's creatives when the pool has none. Repeat serves run no query.
    """
    if placement.pk != placement_id:
        raise NotFoundError("No such placement for this key.")
    if not placement.active:
        raise PlacementPaused("This placement is paused; nothing is served to it.")
    if size not in placement.size_list:
        sizes = ", ".join(f"{w}x{h}" for w, h in placement.size_list)
        raise ApplicationError(
            f"Size {size[0]}x{size[1]} is not one of this placement's sizes ({sizes}).", code="bad_size"
        )
    version = _serving_version()
    slot = _remember(
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
    stats: dict[int, tuple[int, int]] = {}
    for campaign_id in candidates.campaign_ids:
        key = STATS_CACHE_KEY.format(campaign_id=campaign_id)
        stats.update(_remember(("stats", key), lambda key=key: cache.get(key) or {}, version=version, ttl=STATS_TTL))
    if rng.random() < settings.SERVING_EXPLORATION:
        # A small share of uniform choices: unbiased traffic for every creative, which the CTR model
        # learns from (Thompson sampling alone soon shows the leader almost always).
        chosen = candidates.creatives[int(rng.integers(len(candidates.creatives)))]
    else:
        counts = np.array([stats.get(i, (0, 0)) for i in candidates.ids], dtype=float)
        impressions, clicks = counts[:, 0], counts[:, 1]
        prior_weight = settings.SERVING_PRIOR_IMPRESSIONS
        alphas = candidates.prior_ctrs * prior_weight + clicks
        betas = (1 - candidates.prior_ctrs) * prior_weight + np.maximum(0, impressions - clicks)
        chosen = candidates.creatives[int(np.argmax(rng.beta(alphas, betas)))]
    # "s" ties the click to the impression of the same serve (one counted click per impression).
    payload = {"c": chosen.pk, "p": placement.pk, "s": secrets.token_hex(8)}
    if segment:
        payload["g"] = segment  # the audience segment travels with the events, into the rollups
    return ServedCreative(
        creative=chosen,
        impression_token=tracking_token({**payload, "e": "impression"}),
        click_token=tracking_token({**payload, "e": "click"}),
    )
