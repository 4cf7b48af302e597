"""A campaign's webhook: the events it is sent (a generation job finished, a test ping), each in one
Stripe-shaped signed body; a secret rotated with a grace period; one delivery attempt and its recorded
outcome. The destination check and the HTTP client are campaigns.webhooks (docs/webhooks.md)."""

import hmac
import json
import logging
import secrets
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from creativeadmin.errors import ApplicationError

from ..errors import WebhookFailed
from ..models import (
    Campaign,
    GenerationJob,
    _webhook_secret,
)
from ..webhooks import WebhookUndeliverable, webhook_post

logger = logging.getLogger(__name__)


WEBHOOK_TIMEOUT = 5.0
EVENT_JOB_FINISHED = GenerationJob.WEBHOOK_EVENT
EVENT_PING = "ping"


def webhook_signature(*, secret: str | list[str], timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, one `v1` per secret (the current one first):
    receivers recompute it with their secret, accept the call when any `v1` matches, and check the time."""
    keys = [secret] if isinstance(secret, str) else secret
    digests = [hmac.new(key.encode(), f"{timestamp}.".encode() + body, "sha256").hexdigest() for key in keys]
    return ",".join([f"t={timestamp}", *(f"v1={d}" for d in digests)])


def webhook_signing_secrets(*, campaign: Campaign, now: datetime | None = None) -> list[str]:
    """The secrets a call is signed with: the current one, then the previous one during its grace period."""
    keys = [campaign.webhook_secret]
    rotated_at = campaign.webhook_secret_rotated_at
    if campaign.webhook_secret_previous and rotated_at is not None:
        grace = timedelta(seconds=settings.WEBHOOK_SECRET_GRACE_SECONDS)
        if (now or timezone.now()) < rotated_at + grace:
            keys.append(campaign.webhook_secret_previous)
    return keys


def campaign_webhook_secret_rotate(*, campaign: Campaign) -> str:
    """Give the campaign a new webhook secret and return it (shown once; masked everywhere after).

    Calls are signed with the new secret and, for WEBHOOK_SECRET_GRACE_SECONDS, with the previous one
    too, so a receiver still holding the old secret keeps accepting them until it is updated. Rotating
    again within the grace period drops the oldest secret: only the last two are ever valid.
    """
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        locked.webhook_secret_previous = locked.webhook_secret
        locked.webhook_secret = _webhook_secret()
        locked.webhook_secret_rotated_at = timezone.now()
        locked.save(update_fields=["webhook_secret", "webhook_secret_previous", "webhook_secret_rotated_at"])
    for field in ("webhook_secret", "webhook_secret_previous", "webhook_secret_rotated_at"):
        setattr(campaign, field, getattr(locked, field))
    return campaign.webhook_secret


def webhook_event_body(*, event_id: str, type: str, created: int, obj: dict, legacy: dict | None = None) -> bytes:
    """An event as Stripe shapes one: `{"id": "evt_...", "object": "event", "type", "created", "data": {"object"}}`.

    `legacy` adds top-level fields that receivers written before this shape read (kept, not removed).
    """
    event = {
        "id": event_id,
        "object": "event",
        "type": type,
        "created": created,
        "data": {"object": obj},
        **(legacy or {}),
    }
    return json.dumps(event, ensure_ascii=False).encode()


def _deliver(campaign: Campaign, body: bytes) -> None:
    """One signed POST of `body` to the campaign's webhook URL; WebhookUndeliverable when it fails."""
    timestamp = int(time.time())
    signature = webhook_signature(secret=webhook_signing_secrets(campaign=campaign), timestamp=timestamp, body=body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CreativeAdmin-Webhook/1",
        "X-Creative-Admin-Signature": signature,
    }
    webhook_post(campaign.webhook_url, body=body, headers=headers, timeout=WEBHOOK_TIMEOUT)


def job_webhook_send(*, job_id: int) -> str:
    """POST the finished job to its campaign's webhook URL, signed; raises WebhookFailed to be retried.

    The job's `webhook_status` is "delivered" or "failed: <code>" (codes in
    campaigns.webhooks.WebhookUndeliverable), never what the receiver or the network said: the
    status must not become a probe of what answers where. A destination that is not allowed is
    not retried. The details go to the log.
    """

    job = GenerationJob.objects.select_related("campaign").get(pk=job_id)
    campaign = job.campaign
    if job.webhook_status == "delivered" or not campaign.webhook_url:
        return job.webhook_status
    summary = {
        "id": job.pk,
        "campaign": campaign.pk,
        "state": job.state,
        "product_sets_total": job.product_sets_total,
        "product_sets_done": len(job.completed_sets),
        "product_sets_failed": len(job.failed_sets),
        "candidates_failed": len(job.candidate_errors),
        "creatives": campaign.creatives.filter(job=job).count(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
    finished = job.finished_at or job.created_at
    body = webhook_event_body(
        event_id=job.webhook_event_id,
        type=EVENT_JOB_FINISHED,
        created=int(finished.timestamp()),
        obj={"object": "generation_job", **summary},
        legacy={"event": EVENT_JOB_FINISHED, "job": summary},
    )
    GenerationJob.objects.filter(pk=job.pk).update(webhook_attempts=models.F("webhook_attempts") + 1)
    try:
        _deliver(campaign, body)
    except WebhookUndeliverable as exc:
        logger.warning("Webhook of job %s not delivered: %s", job.pk, exc)
        status = f"failed: {exc.code}"
        _webhook_outcome(job.pk, status)
        if exc.code == "destination_not_allowed":
            return status  # refused by this server: another try would be refused again
        raise WebhookFailed(status) from exc
    _webhook_outcome(job.pk, "delivered")
    return "delivered"


def campaign_webhook_ping(*, campaign: Campaign) -> dict:
    """Send the campaign's webhook a `ping` event now, signed as every call is; one attempt, no retry.

    Returns {"event_id", "status"}: status "delivered" or "failed: <code>" (the codes of
    campaigns.webhooks.WebhookUndeliverable, never the receiver's answer, as for jobs). A campaign
    without a webhook URL is refused (ApplicationError, `no_webhook`). Nothing is stored.
    """
    if not campaign.webhook_url:
        raise ApplicationError(f"{campaign.name} has no webhook URL to test.", code="no_webhook")
    event_id = "evt_" + secrets.token_hex(12)
    body = webhook_event_body(
        event_id=event_id,
        type=EVENT_PING,
        created=int(time.time()),
        obj={"object": "campaign", "id": campaign.pk, "name": campaign.name},
    )
    try:
        _deliver(campaign, body)
    except WebhookUndeliverable as exc:
        logger.warning("Test ping of campaign %s not delivered: %s", campaign.pk, exc)
        return {"event_id": event_id, "status": f"failed: {exc.code}"}
    return {"event_id": event_id, "status": "delivered"}


def webhook_give_up(*, job_id: int) -> None:
    job = GenerationJob.objects.get(pk=job_id)
    _webhook_outcome(job_id, f"{job.webhook_status} (gave up after {job.webhook_attempts} attempts)"[:300])


def _webhook_outcome(job_id: int, status: str) -> None:
    GenerationJob.objects.filter(pk=job_id).update(webhook_status=status)
