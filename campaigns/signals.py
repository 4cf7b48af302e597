"""Any saved or deleted placement, campaign, creative or pool entry may change what serving returns: say so."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .models import Campaign, Creative, Placement, PoolEntry
from .serving import serving_changed


@receiver(post_save, sender=PoolEntry)
@receiver(post_delete, sender=PoolEntry)
@receiver(post_save, sender=Placement)
@receiver(post_save, sender=Campaign)
@receiver(post_save, sender=Creative)
@receiver(post_delete, sender=Placement)
@receiver(post_delete, sender=Campaign)
@receiver(post_delete, sender=Creative)
def _saved(sender, **kwargs) -> None:
    serving_changed()


@receiver(m2m_changed, sender=Campaign.placements.through)
def _placements_changed(sender, action: str, **kwargs) -> None:
    if action.startswith("post_"):
        serving_changed()
