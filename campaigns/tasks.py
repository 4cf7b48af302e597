"""Celery tasks for campaigns: thin, id-taking, safe to run twice."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from . import services
from .errors import WebhookFailed

# Worth another try on a fresh connection: storage hiccups (OSError) and a database connection
# dropped under the task (a failover, a restart, a terminated backend). Engine and validation
# errors are recorded on the job instead, never retried.
TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=4,
)
def generate_product_set(self, job_id: int, skus: list[str]) -> int:
    try:
        return len(services.creatives_generate_for_product_set(job_id=job_id, skus=skus))
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:  # out of retries: the job must still finish
            what = "storage" if isinstance(exc, OSError) else "the database"
            services.product_set_failed(job_id=job_id, skus=skus, error=f"{what} kept failing: {exc}")
        raise


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(WebhookFailed,),
    retry_backoff=5,  # 5, 10, 20, 40... seconds
    retry_backoff_max=600,
    max_retries=6,
)
def send_job_webhook(self, job_id: int) -> str:
    """Tell the campaign's webhook a generation job finished; retried with backoff until it answers 2xx."""
    try:
        return services.job_webhook_send(job_id=job_id)
    except WebhookFailed:
        if self.request.retries >= self.max_retries:
            services.webhook_give_up(job_id=job_id)
        raise


@shared_task
def generation_jobs_resume() -> dict[int, int]:
    """Periodic (beat): send again the unfinished sets of jobs stalled for GENERATION_STALL_SECONDS."""
    return services.generation_jobs_resume(stalled_seconds=settings.GENERATION_STALL_SECONDS)
