"""A campaign's life after generation: creatives reviewed, going live, pausing, ending, reopening,
deleting; and a placement's: archived (kept with its history) or deleted (only without traffic)."""

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone

from creativeadmin.errors import ApplicationError, ConflictError

from ..errors import CampaignNotReady
from ..models import (
    Campaign,
    Creative,
    Placement,
)
from ..serving import serving_changed
from ..traffic import placement_has_traffic


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


def _refuse_if_ended(campaign: Campaign, doing: str) -> None:
    """An ended campaign stays ended until it is reopened: ConflictError (409) for anything else."""
    if campaign.status == Campaign.Status.ENDED:
        raise ConflictError(
            f"{campaign.name} has ended: reopen it before you {doing}.",
            code="campaign_ended",
        )


def campaign_go_live(*, campaign: Campaign) -> Campaign:
    """Start serving; needs at least one approved creative, and a campaign that has not ended (reopen it first)."""
    _refuse_if_ended(campaign, "put it live again")
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
    """Stop serving for good; the creatives, their events and rollups stay for the dashboards.

    Only `campaign_reopen` brings it back: go-live and generation refuse an ended campaign."""
    campaign.status = Campaign.Status.ENDED
    campaign.save(update_fields=["status"])
    return campaign


def campaign_reopen(*, campaign: Campaign) -> Campaign:
    """Bring an ended campaign back, not serving: paused when it has creatives (go-live resumes it with its
    approved ones), draft when it has none (generate first). ApplicationError (not_ended) for any other."""
    if campaign.status != Campaign.Status.ENDED:
        raise ApplicationError(
            f"{campaign.name} is {campaign.get_status_display().lower()}, not ended.", code="not_ended"
        )
    campaign.status = Campaign.Status.PAUSED if campaign.creatives.exists() else Campaign.Status.DRAFT
    campaign.save(update_fields=["status"])
    return campaign


def placement_archive(*, placement: Placement) -> Placement:
    """Stop serving a placement for good and leave it out of lists and generation; its events, rollups and
    creatives' statistics stay for the dashboards. Archiving an archived placement changes nothing."""
    if placement.archived_at is None:
        placement.archived_at = timezone.now()
        placement.save(update_fields=["archived_at"])
    return placement


def placement_unarchive(*, placement: Placement) -> Placement:
    """Bring an archived placement back: served again (if active), listed, used by generation."""
    if placement.archived_at is not None:
        placement.archived_at = None
        placement.save(update_fields=["archived_at"])
    return placement


def placement_delete(*, placement: Placement) -> None:
    """Delete a placement that has no traffic; one with events or rollups is archived instead (ConflictError).

    A delete would take its events and rollups with it (the dashboards' history and the CTR model's data).
    """
    if placement_has_traffic(placement_id=placement.pk):
        raise ConflictError(
            f"{placement.name} has recorded traffic, and its events and rollups would go with it: archive it instead.",
            code="placement_has_traffic",
        )
    placement.delete()
    serving_changed()
