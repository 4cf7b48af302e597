"""Placement API keys: issued (shown once, only the hash kept), revoked, and looked up per request."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.utils import timezone

from ..errors import PlacementKeyInvalid
from ..models import Placement
from .cache import remember, serving_changed, serving_version


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
    placement = remember(
        ("placement", parts[1]),
        lambda: Placement.objects.filter(key_prefix=parts[1]).first(),
        version=serving_version(),
    )
    digest = hashlib.sha256(key.encode()).hexdigest()
    if placement is None or not hmac.compare_digest(placement.key_hash, digest):
        raise PlacementKeyInvalid("Unknown placement key.")
    if placement.key_revoked_at is not None:
        raise PlacementKeyInvalid("This placement key has been revoked.", code="revoked_key")
    return placement
