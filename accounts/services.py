"""Login throttling: repeated failed logins for one username from one address lock that pair out for a while.

Counts live in the cache (shared between processes when CACHE_URL points at Redis) as a
fixed window that starts at the first attempt. Every attempt whose password is about to be
checked is counted first, atomically (cache `add` then `incr`: Redis INCR, a lock in the
local-memory cache), and only the first LOGIN_FAILURE_LIMIT of a window are checked at all:
concurrent attempts cannot all slip past a count that has not been written yet. A success
clears the count, so what remains counted is failures (and attempts refused meanwhile).
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
    """True when this username has used up LOGIN_FAILURE_LIMIT attempts from this address within the window."""
    return cache.get(_key(username, address), 0) >= settings.LOGIN_FAILURE_LIMIT


def login_attempt_admit(*, username: str, address: str) -> bool:
    """Count one login attempt before its password is checked; False (check nothing) past the limit.

    The count is taken atomically, so of N concurrent attempts exactly the first
    LOGIN_FAILURE_LIMIT in the window are admitted, whatever the order they finish in.
    """
    return _count(_key(username, address)) <= settings.LOGIN_FAILURE_LIMIT


def _count(key: str) -> int:
    cache.add(key, 0, timeout=LOGIN_FAILURE_WINDOW_SECONDS)  # opens the window; incr keeps its expiry
    try:
        return cache.incr(key)
    except ValueError:  # the window closed between add and incr
        cache.add(key, 0, timeout=LOGIN_FAILURE_WINDOW_SECONDS)
        return cache.incr(key)


def login_failures_reset(*, username: str, address: str) -> None:
    """Forget the failures after a successful login."""
    cache.delete(_key(username, address))
