"""Celery tasks for campaigns: thin, id-taking, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),  # storage hiccups; engine and validation errors are recorded, not retried
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=4,
)
def generate_product_set(self, job_id: int, skus: list[str]) -> int:
    try:
        return len(services.creatives_generate_for_product_set(job_id=job_id, skus=skus))
    except OSError as exc:
        if self.request.retries >= self.max_retries:  # out of retries: the job must still finish
            services.product_set_failed(job_id=job_id, skus=skus, error=f"storage kept failing: {exc}")
        raise


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(services.WebhookFailed,),
    retry_backoff=5,  # 5, 10, 20, 40... seconds
    retry_backoff_max=600,
    max_retries=6,
)
def send_job_webhook(self, job_id: int) -> str:
    """Tell the campaign's webhook a generation job finished; retried with backoff until it answers 2xx."""
    try:
        return services.job_webhook_send(job_id=job_id)
    except services.WebhookFailed:
        if self.request.retries >= self.max_retries:
            services.webhook_give_up(job_id=job_id)
        raise
