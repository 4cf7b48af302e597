"""Personal API keys: a program calls the API as the person who made the key, with that person's role; and the
Idempotency-Key answers kept for a person's retries."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey


class UserAPIKey(AbstractAPIKey):
    """A key `<prefix>.<secret>` of one user; only the prefix and a SHA-512 of the key are stored.

    djangorestframework-api-key keeps the name, the hash, `revoked` (which cannot be undone) and
    an optional expiry; this adds the owner and when the key was last used (written at most once
    a minute, see accounts.services.api_key_authenticate).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.user})"


class IdempotencyKey(models.Model):
    """A person's `Idempotency-Key` on a request that makes something, and the answer it got (Stripe's semantics).

    Claimed (no status yet) before the work starts, so a concurrent retry is refused rather than run twice;
    the answer is stored once the work succeeded and replayed for the same key and request until the key
    expires (accounts.services.IDEMPOTENCY_TTL). In the database, not the cache: a cache may evict a key
    (or be one per process) while its answer is still owed, and the unique constraint serialises racing retries.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the method, operation, its object and JSON body."
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty while the work runs.")
    body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    location = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.key} ({self.user}, {self.status_code or 'running'})"
