"""Periodic analytics work (celery beat): rollups and serving stats every minute, the CTR model daily."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True)
def rollups_refresh(hours: int = 3) -> int:
    """Rebuild the last `hours` hours (late events land in the hour they happened) and refresh serving."""
    end = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    rows = services.rollups_build(start=end - timedelta(hours=hours), end=end)
    services.serving_stats_refresh()
    return rows


@shared_task(acks_late=True)
def ctr_model_retrain() -> str:
    """Train a new CTR model from the rollups (daily); a model that does not beat the fixed weights stays off."""
    from .errors import NotEnoughData
    from .learning import ctr_model_train

    try:
        model = ctr_model_train()
    except NotEnoughData as exc:
        return f"not trained: {exc}"
    return f"{model} active={model.active}"
