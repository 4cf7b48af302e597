"""Whether a placement has recorded traffic: a check the analytics app registers.

The events and rollups live in analytics, which sits above campaigns; `AnalyticsConfig.ready()`
registers its check here (as it registers the learned scorer in campaigns.scorers), so deleting a
placement can refuse to take its history with it without campaigns importing analytics. Nothing
registered (analytics not installed) means no traffic is recorded anywhere.
"""

from collections.abc import Callable

_check: Callable[[int], bool] | None = None


def placement_traffic_check_register(check: Callable[[int], bool]) -> None:
    """Make `check(placement_id)` the answer to "has this placement recorded traffic?" (the last one wins)."""
    global _check
    _check = check


def placement_has_traffic(*, placement_id: int) -> bool:
    """Whether events or rollups are recorded for the placement (False when no check is registered)."""
    return _check is not None and _check(placement_id)
