"""A campaign's life after generation: creatives reviewed, going live, pausing, ending, deleting."""

from collections.abc import Iterable

from django.db.models import QuerySet

from creativeadmin.errors import ApplicationError, ConflictError

from ..errors import CampaignNotReady
from ..models import (
    Campaign,
    Creative,
)
from ..serving import serving_changed


def creatives_review(*, creatives: QuerySet[Creative] | Iterable[Creative], approve: bool) -> int:
    """Approve or reject creatives (only approved ones are ever served); returns how many changed.

    Every surface reviews through here (the gallery, the admin's actions, the API's bulk review):
    one UPDATE (a queryset is its subquery, however many rows it names), then serving is told.
    """
    state = Creative.State.APPROVED if approve else Creative.State.REJECTED
    chosen = creatives.values("pk") if isinstance(creatives, QuerySet) else [c.pk for c in creatives]
    changed = Creative.objects.filter(pk__in=chosen).exclude(state=state).update(state=state)
    serving_changed()
    return changed


def campaign_delete(*, campaign: Campaign) -> None:
    """Delete a campaign that has made nothing yet; one with creatives is ended instead (ConflictError).

    Its creatives carry the tracked events and the rollups the dashboards and the CTR model read,
    which a delete would take with them.
    """
    if campaign.creatives.exists():
        raise ConflictError(
            f"{campaign.name} has creatives, and their statistics would go with them: end or pause it instead.",
            code="campaign_has_creatives",
        )
    campaign.delete()
    serving_changed()


def campaign_go_live(*, campaign: Campaign) -> Campaign:
    """Start serving; needs at least one approved creative."""
    if not campaign.creatives.filter(state=Creative.State.APPROVED).exists():
        raise CampaignNotReady(f"{campaign.name} has no approved creative to serve yet.", code="nothing_approved")
    campaign.status = Campaign.Status.LIVE
    campaign.save(update_fields=["status"])
    return campaign


def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Stop serving a live campaign for now; go-live resumes it."""
    if campaign.status != Campaign.Status.LIVE:
        raise ApplicationError(
            f"{campaign.name} is {campaign.get_status_display().lower()}, not live.", code="not_live"
        )
    campaign.status = Campaign.Status.PAUSED
    campaign.save(update_fields=["status"])
    return campaign


def campaign_end(*, campaign: Campaign) -> Campaign:
    """Stop serving for good; the creatives, their events and rollups stay for the dashboards."""
    campaign.status = Campaign.Status.ENDED
    campaign.save(update_fields=["status"])
    return campaign
