"""Login throttling: repeated failed logins for one username from one address lock that pair out for a while.

Counts live in the cache (shared between processes when CACHE_URL points at Redis) as a
fixed window that starts at the first failure; LOGIN_FAILURE_LIMIT failures lock the pair
until the window ends, whatever password is tried next.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache

LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60


def _key(username: str, address: str) -> str:
    # Hashed: usernames may hold characters or lengths a cache key cannot.
    pair = f"{username.strip().casefold()}\n{address}".encode()
    return "login-failures:" + hashlib.sha256(pair).hexdigest()


def login_locked(*, username: str, address: str) -> bool:
    """True when this username has failed LOGIN_FAILURE_LIMIT times from this address within the window."""
    return cache.get(_key(username, address), 0) >= settings.LOGIN_FAILURE_LIMIT


def login_failure_record(*, username: str, address: str) -> int:
    """Count one failed login; returns the failures so far in the current window."""
    key = _key(username, address)
    cache.add(key, 0, timeout=LOGIN_FAILURE_WINDOW_SECONDS)  # opens the window; incr keeps its expiry
    try:
        return cache.incr(key)
    except ValueError:  # the window closed between add and incr
        cache.add(key, 1, timeout=LOGIN_FAILURE_WINDOW_SECONDS)
        return 1


def login_failures_reset(*, username: str, address: str) -> None:
    """Forget the failures after a successful login."""
    cache.delete(_key(username, address))
