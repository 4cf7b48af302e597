"""The per-placement rate limit: 429 with Retry-After past PLACEMENT_RATE.

A fixed-window counter in the shared cache, so every web process counts against the same
limit. Each process batches its increments (one INCRBY per SYNC_BATCH requests or
SYNC_SECONDS, and on every request once the count nears the limit), which keeps the
shared-cache round trip off most requests; across P processes the limit can be overshot
by at most P x SYNC_BATCH requests per window. DRF's stock throttle instead keeps, and
re-pickles on every request, the list of every request time in the window.
"""

import threading

from rest_framework.throttling import SimpleRateThrottle

SYNC_BATCH = 20
SYNC_SECONDS = 0.1
NEAR_LIMIT = 0.9  # past this share of the limit, every request is counted in the shared cache

_lock = threading.Lock()
_windows: dict[str, list] = {}  # cache key -> [pending increments, last shared total, last sync time]


class PlacementRateThrottle(SimpleRateThrottle):
    scope = "placement"

    def allow_request(self, request, view):
        return self.allow_placement(getattr(request.auth, "pk", "anon"))

    def allow_placement(self, placement_id) -> bool:
        """Count one request of the placement; False past the rate (then `wait()` says for how long).

        Apart from allow_request for the serve's lean path, which has the placement but no DRF request."""
        if self.rate is None:
            return True
        now = self.timer()
        key = f"{self.cache_format % {'scope': self.scope, 'ident': placement_id}}:{int(now // self.duration)}"
        with _lock:
            state = _windows.get(key)
            if state is None:
                if len(_windows) > 10_000:
                    _windows.clear()
                state = _windows[key] = [0, 0, 0.0]
            state[0] += 1
            due = state[0] >= SYNC_BATCH or now - state[2] >= SYNC_SECONDS
            near = state[1] + state[0] > NEAR_LIMIT * self.num_requests
            if due or near:
                state[1] = self._add(key, state[0])
                state[0], state[2] = 0, now
            count = state[1] + state[0]
        self.retry_after = self.duration - (now % self.duration)
        return count <= self.num_requests

    def _add(self, key: str, amount: int) -> int:
        try:
            return self.cache.incr(key, amount)
        except ValueError:  # the window's first increment (or a race to it)
            if self.cache.add(key, amount, self.duration + 1):
                return amount
            return self.cache.incr(key, amount)

    def wait(self):
        return self.retry_after


def rate_counts_forget() -> None:
    """Drop this process's unsynced counts (after the shared cache was cleared, e.g. between tests)."""
    with _lock:
        _windows.clear()
