"""Personal API keys: a program calls the API as the person who made the key, with that person's role."""

from django.conf import settings
from django.db import models
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
