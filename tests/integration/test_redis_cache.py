"""The Redis cache backend (creativeadmin.cache) against real Redis: its one-round-trip `incr` keeps
Django's contract, which the serving throttle relies on (a missing key is ValueError, then `add` starts it)."""

import secrets

import pytest
from django.conf import settings

from creativeadmin.cache import RedisCache

pytestmark = pytest.mark.integration


def test_incr_counts_an_existing_key_and_refuses_a_missing_one():
    assert settings.CELERY_BROKER_URL.startswith("redis:"), "the integration suite runs with Redis as its broker"
    cache = RedisCache(settings.CELERY_BROKER_URL, {"KEY_PREFIX": f"test-{secrets.token_hex(4)}"})
    try:
        with pytest.raises(ValueError):
            cache.incr("count", 3)
        assert cache.get("count") is None  # the refused incr created nothing

        assert cache.add("count", 5, timeout=30)
        assert (cache.incr("count", 3), cache.decr("count", 2), cache.get("count")) == (8, 6, 6)
    finally:
        cache.delete("count")
