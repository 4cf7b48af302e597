"""Accounts: login throttling, the personal API keys that let a program act as its owner, and the
Idempotency-Key answers that make a person's retried request safe.

Login throttling: repeated failed logins for one username from one address lock that pair out for a while.

Counts live in the cache (shared between processes when CACHE_URL points at Redis) as a
fixed window that starts at the first attempt. Every attempt whose password is about to be
checked is counted first, atomically (cache `add` then `incr`: Redis INCR, a lock in the
local-memory cache), and only the first LOGIN_FAILURE_LIMIT of a window are checked at all:
concurrent attempts cannot all slip past a count that has not been written yet. A success
clears the count, so what remains counted is failures (and attempts refused meanwhile).
"""

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from creativeadmin.errors import ApplicationError, ConflictError

from .models import IdempotencyKey, UserAPIKey
from .roles import ROLES

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


# API keys --------------------------------------------------------------------------------------

# How stale `last_used_at` may be: a key used all day costs one UPDATE a minute, not one a request.
API_KEY_LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyRefused(ApplicationError):
    """A key cannot be made for this user (400), or this key is not (any longer) accepted."""

    default_code = "api_key_refused"


def api_key_holder_allowed(user: AbstractBaseUser) -> bool:
    """Who may hold keys: active members of a role. Superusers may not: a key acts within a role's rights."""
    if not user.is_active or user.is_superuser:
        return False
    return user.groups.filter(name__in=ROLES).exists()


@transaction.atomic
def api_key_create(*, user: AbstractBaseUser, name: str, expiry_date: datetime | None = None) -> tuple[UserAPIKey, str]:
    """A new key for `user`; returns the row and the key itself, which is stored only as a hash and never shown again.

    Raises ApiKeyRefused (code `not_a_role_member`) for a user who holds no role, an inactive user or a superuser.
    """
    if not api_key_holder_allowed(user):
        raise ApiKeyRefused(
            "API keys are for active members of a role (Designers, Operators, Analysts), not superusers.",
            code="not_a_role_member",
        )
    api_key = UserAPIKey(user=user, name=name, expiry_date=expiry_date)
    key = UserAPIKey.objects.assign_key(api_key)
    api_key.full_clean()
    api_key.save()
    return api_key, key


def api_key_revoke(*, api_key: UserAPIKey) -> UserAPIKey:
    """Revoke for good (the row stays, for the record): the next request with the key is refused."""
    if not api_key.revoked:
        api_key.revoked = True
        api_key.save(update_fields=["revoked"])
    return api_key


def api_key_authenticate(*, key: str) -> UserAPIKey:
    """The usable key (its `user` loaded) that `key` is; raises ApiKeyRefused (code `invalid_api_key`).

    One query finds the key by its prefix; the secret is checked against the SHA-512 in constant
    time. A revoked or expired key, or one whose owner is inactive or a superuser, is refused.
    Records the use at most once per API_KEY_LAST_USED_RESOLUTION.
    """
    prefix, dot, _ = key.partition(".")
    api_key = UserAPIKey.objects.get_usable_keys().select_related("user").filter(prefix=prefix).first() if dot else None
    if api_key is None or not api_key.is_valid(key):
        raise ApiKeyRefused("Invalid API key.", code="invalid_api_key")
    if api_key.has_expired:
        raise ApiKeyRefused("This API key has expired.", code="invalid_api_key")
    if not api_key.user.is_active or api_key.user.is_superuser:
        raise ApiKeyRefused("This API key's owner may not use API keys.", code="invalid_api_key")
    _api_key_mark_used(api_key)
    return api_key


def _api_key_mark_used(api_key: UserAPIKey) -> None:
    now = timezone.now()
    stale = now - API_KEY_LAST_USED_RESOLUTION
    if api_key.last_used_at is not None and api_key.last_used_at > stale:
        return
    # Conditional, so concurrent requests write it once; no save(): nothing else of the row is touched.
    UserAPIKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale), pk=api_key.pk).update(
        last_used_at=now
    )
    api_key.last_used_at = now


# --- Idempotency keys (Stripe's semantics) ----------------------------------------------------------------

IDEMPOTENCY_TTL = timedelta(hours=24)  # how long an answer is replayed for its key
IDEMPOTENCY_LOCK = timedelta(minutes=10)  # a claim whose work never finished (a crashed process) is taken over


class IdempotencyKeyInUse(ConflictError):
    default_code = "idempotency_key_in_use"


class IdempotencyKeyReused(ApplicationError):
    status_code = 422
    default_code = "idempotency_key_reused"


def idempotency_claim(*, user: AbstractBaseUser, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """The row of `user`'s `key`, and whether it is a new claim: new, the caller does the work and then records
    its answer (`idempotency_record`) or gives the key back (`idempotency_release`); not new, the row holds the
    answer to replay.

    Raises IdempotencyKeyReused (422) when the key was used with another request (`fingerprint`), and
    IdempotencyKeyInUse (409) while the first request with it is still running. The user's expired keys go first.
    """
    now = timezone.now()
    IdempotencyKey.objects.filter(user=user, created_at__lt=now - IDEMPOTENCY_TTL).delete()
    IdempotencyKey.objects.filter(
        user=user, key=key, status_code__isnull=True, created_at__lt=now - IDEMPOTENCY_LOCK
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint, created_at=now), True
    except IntegrityError:
        stored = IdempotencyKey.objects.filter(user=user, key=key).first()
    if stored is not None and stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used with another request: use a new key for a new request.",
            extra={"idempotency_key": key},
        )
    if stored is None or stored.status_code is None:
        raise IdempotencyKeyInUse(
            "A request with this Idempotency-Key is still running: retry later.", extra={"idempotency_key": key}
        )
    return stored, False


def idempotency_record(*, claim: IdempotencyKey, status_code: int, body, location: str = "") -> None:
    """Keep the answer of the claimed request, to be replayed for the same key and request until it expires."""
    claim.status_code, claim.body, claim.location = status_code, body, location
    claim.save(update_fields=["status_code", "body", "location"])


def idempotency_release(*, claim: IdempotencyKey) -> None:
    """Give the key back (the request was refused or failed before its work was done): a retry runs it afresh."""
    claim.delete()
