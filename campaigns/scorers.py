"""Which scorer ranks generation's candidates: a registry the analytics app fills in.

The learned CTR model lives in analytics, which sits above campaigns (it reads campaigns' rows);
`AnalyticsConfig.ready()` registers its `active_scorer` here, so generation finds the model
without importing analytics. Nothing registered (analytics not installed) means the engine's
fixed weights.
"""

from collections.abc import Callable

from synthesis.score import Scorer

_provider: Callable[[], Scorer | None] | None = None


def scorer_provider_register(provider: Callable[[], Scorer | None]) -> None:
    """Make `provider()` the source of the scorer generation uses (the last one registered wins)."""
    global _provider
    _provider = provider


def active_scorer() -> Scorer | None:
    """The registered provider's scorer, or None (the engine's fixed weights) when there is none."""
    return _provider() if _provider is not None else None
