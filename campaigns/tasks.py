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
    return len(services.creatives_generate_for_product_set(job_id=job_id, skus=skus))
