"""Telling a campaign's webhook that a generation job finished: the signed body, one delivery attempt
and its recorded outcome. The destination check and the HTTP client are campaigns.webhooks."""

import hmac
import json
import logging
import time

from django.db import models

from ..errors import WebhookFailed
from ..models import (
    GenerationJob,
)
from ..webhooks import WebhookUndeliverable, webhook_post

logger = logging.getLogger(__name__)


WEBHOOK_TIMEOUT = 5.0


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: receivers recompute it and check the time."""

    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, "sha256").hexdigest()
    return f"t={timestamp},v1={digest}"


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
    body = json.dumps(
        {
            "event": "generation_job.finished",
            "job": {
                "id": job.pk,
                "campaign": campaign.pk,
                "state": job.state,
                "product_sets_total": job.product_sets_total,
                "product_sets_done": len(job.completed_sets),
                "product_sets_failed": len(job.failed_sets),
                "candidates_failed": len(job.candidate_errors),
                "creatives": campaign.creatives.filter(job=job).count(),
                "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            },
        },
        ensure_ascii=False,
    ).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CreativeAdmin-Webhook/1",
        "X-Creative-Admin-Signature": webhook_signature(secret=campaign.webhook_secret, timestamp=timestamp, body=body),
    }
    GenerationJob.objects.filter(pk=job.pk).update(webhook_attempts=models.F("webhook_attempts") + 1)
    try:
        webhook_post(campaign.webhook_url, body=body, headers=headers, timeout=WEBHOOK_TIMEOUT)
    except WebhookUndeliverable as exc:
        logger.warning("Webhook of job %s not delivered: %s", job.pk, exc)
        status = f"failed: {exc.code}"
        _webhook_outcome(job.pk, status)
        if exc.code == "destination_not_allowed":
            return status  # refused by this server: another try would be refused again
        raise WebhookFailed(status) from exc
    _webhook_outcome(job.pk, "delivered")
    return "delivered"


def webhook_give_up(*, job_id: int) -> None:
    job = GenerationJob.objects.get(pk=job_id)
    _webhook_outcome(job_id, f"{job.webhook_status} (gave up after {job.webhook_attempts} attempts)"[:300])


def _webhook_outcome(job_id: int, status: str) -> None:
    GenerationJob.objects.filter(pk=job_id).update(webhook_status=status)
