"""Serving's two-level cache: what a process has looked up, kept until a write announces a change.

A shared serving version (in the Django cache) is bumped by every write that changes what may be
served (`serving_changed`); each process keeps its lookups under the version it read, so a
request costs one shared-cache read instead of the queries, and no process serves stale data.
The creatives' statistics the analytics rollups write (`creative_stats_cache_set`) are read
through it as well."""

from __future__ import annotations

import secrets
import time

from django.core.cache import cache
from django.db import transaction

STATS_CACHE_KEY = "serving:creative-stats:{campaign_id}"
SERVING_VERSION_KEY = "serving:version"
LOCAL_TTL = 30.0  # seconds a process keeps what it looked up, even if no change is announced
STATS_TTL = 2.0  # statistics change once a minute (the rollups); a process re-reads them this often
VERSION_TTL = 0.25  # other processes see an announced change within this long

# What this process has looked up for serving: key -> (serving version, expiry, value). Every
# write that changes what may be served bumps the shared serving version (serving_changed), so
# a request costs one shared-cache read instead of the queries, and no process serves stale data.
_local: dict[tuple, tuple[str, float, object]] = {}
# What serving renders per creative (one entry per creative, origin and path): kept apart, so that
# a catalogue of many creatives never fills `_local` and clears the lookups every request needs.
_rendered: dict[tuple, tuple[str, float, object]] = {}


def serving_changed() -> None:
    """Announce to every process that keys, creatives or campaigns changed (their lookups are dropped).

    Inside a transaction it is announced again when the transaction commits: a request between the
    first announcement and the commit reads the rows as they were and would keep them under the new
    version (a paused campaign served on for LOCAL_TTL).
    """
    _version_bump()
    connection = transaction.get_connection()
    if connection.in_atomic_block and not any(f is _version_bump for _, f, *_ in connection.run_on_commit):
        transaction.on_commit(_version_bump)


def _version_bump() -> None:
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


def serving_version() -> str:
    """The shared serving version, re-read at most every VERSION_TTL seconds by each process."""
    return remember(("version",), _read_version, version="", ttl=VERSION_TTL)


def remember(key: tuple, make, *, version: str, ttl: float = LOCAL_TTL, store: dict | None = None):
    """`make()`, kept by this process under `version` for `ttl` seconds (a new version drops it)."""
    store = _local if store is None else store
    now = time.monotonic()
    hit = store.get(key)
    if hit is not None and hit[0] == version and hit[1] > now:
        return hit[2]
    value = make()
    if len(store) > 10_000:
        store.clear()
    store[key] = (version, now + ttl, value)
    return value


def serving_lookup(key: tuple, make):
    """`make()`, kept by this process until a write announces a serving change (or LOCAL_TTL passes).

    For what the request path reads about keys, creatives and campaigns (the tracking endpoints
    use it too); `key` must not collide with serving's own ("placement", "candidates", ...).
    """
    return remember(key, make, version=serving_version())


def rendered_lookup(key: tuple, make):
    """`serving_lookup` for what is rendered per creative: kept apart from the lookups (see `_rendered`)."""
    return remember(key, make, version=serving_version(), store=_rendered)


def creative_stats_cache_set(*, campaign_id: int, stats: dict[int, tuple[int, int]]) -> None:
    """Called by the analytics rollups: creative id -> (impressions, clicks)."""
    key = STATS_CACHE_KEY.format(campaign_id=campaign_id)
    cache.set(key, stats, timeout=None)
    _local.pop(("stats", key), None)  # this process sees them at once; others within STATS_TTL


def creative_stats(campaign_ids, *, version: str) -> tuple[dict[int, tuple[int, int]], ...]:
    """Per campaign, in the order of `campaign_ids`: creative id -> (impressions, clicks), as the rollups
    last wrote them.

    Re-read from the shared cache at most every STATS_TTL seconds by each process; until then the same
    dicts come back, so what a caller derives from them can be kept while they are (draw.py does)."""
    return tuple(
        remember(("stats", key), lambda key=key: cache.get(key) or {}, version=version, ttl=STATS_TTL)
        for key in (STATS_CACHE_KEY.format(campaign_id=campaign_id) for campaign_id in campaign_ids)
    )
