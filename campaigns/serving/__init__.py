"""Serving: the creative a placement shows, and what that request path needs, one module per concern.

- tokens: tracking tokens signed for a serve's impression and click, and read back by analytics
- cache: the two-level (process + shared) cache behind the request path, and the stats the rollups write
- keys: placement API keys, issued, revoked and looked up
- draw: the Thompson-sampling draw among a placement's live creatives

Re-exported here: what views, the admin, services and the analytics app use.
"""

from .cache import STATS_CACHE_KEY, creative_stats_cache_set, rendered_lookup, serving_changed, serving_lookup
from .draw import POOL_TOP_PRODUCTS, ServedCreative, prior_ctr, serve_creative
from .keys import placement_for_key, placement_key_issue, placement_key_revoke
from .tokens import TRACKING_SALT, tracking_token, tracking_token_open, tracking_token_payload

__all__ = [
    "POOL_TOP_PRODUCTS",
    "STATS_CACHE_KEY",
    "TRACKING_SALT",
    "ServedCreative",
    "creative_stats_cache_set",
    "placement_for_key",
    "placement_key_issue",
    "placement_key_revoke",
    "prior_ctr",
    "rendered_lookup",
    "serve_creative",
    "serving_changed",
    "serving_lookup",
    "tracking_token",
    "tracking_token_open",
    "tracking_token_payload",
]
