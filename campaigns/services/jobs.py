"""Generation jobs: checking a campaign can be generated, starting a job, resuming stalled ones, and
recording each product set's outcome until the job finishes (and its webhook is queued)."""

import logging
from datetime import UTC, datetime, timedelta

from celery import group
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from creativeadmin.background import PROCESS_STARTED_AT, background_running, background_submit
from creativeadmin.errors import ConflictError
from templates_app.models import Template

from ..errors import CampaignNotReady
from ..models import (
    CANDIDATES_PER_SIZE_MAX,
    Campaign,
    GenerationJob,
    Placement,
)
from ..serving import serving_changed
from .lifecycle import _refuse_if_ended

logger = logging.getLogger(__name__)


def campaign_product_sets(*, campaign: Campaign) -> list[list[str]]:
    """The campaign's products in sets of `products_per_creative` (a short last set is dropped)."""
    skus = list(campaign.products.order_by("sku").values_list("sku", flat=True))
    n = campaign.products_per_creative
    return [skus[i : i + n] for i in range(0, len(skus) - n + 1, n)]


def campaign_sizes(*, campaign: Campaign, format: str = Placement.Format.IMAGE) -> list[tuple[int, int]]:
    """The distinct sizes of the campaign's placements of one format (image or video); archived ones left out."""
    sizes: list[tuple[int, int]] = []
    for placement in campaign.placements.filter(format=format, archived_at__isnull=True).order_by("name"):
        for w, h in placement.sizes:
            if (w, h) not in sizes:
                sizes.append((w, h))
    return sizes


def _published_versions(campaign: Campaign, kind: str) -> list:
    """The published version of each of the campaign's published templates of `kind`, by template name.

    Pinned: a designer's later saves make draft versions that no campaign uses until they are published.
    """
    templates = (
        campaign.templates.filter(status=Template.Status.PUBLISHED, kind=kind, published_version__isnull=False)
        .select_related("published_version")
        .order_by("name")
    )
    return [t.published_version for t in templates]


# Generating changes the status of a campaign that is not on the air; a live or paused one keeps its
# status (and a live one its approved creatives on the air) while the job makes new ones.
_STATUSES_GENERATION_MOVES = (Campaign.Status.DRAFT, Campaign.Status.REVIEW, Campaign.Status.GENERATING)


def generation_job_start(*, campaign: Campaign, requested_by=None) -> GenerationJob:
    """Check the campaign can be generated, record a job, and fan out one task per product set.

    A draft or reviewed campaign is marked generating (then review, when the job finishes). A live
    campaign stays live: its approved creatives keep serving, a slot already made is kept as it is
    (generation's get-or-create), and the new creatives wait for review (or are auto-approved) before
    they join the draw. A paused one stays paused. An ended campaign is refused (ConflictError,
    `campaign_ended`) until it is reopened; CampaignNotReady lists what else is missing. While a job
    of the campaign is running, another is refused (ConflictError, `generation_running`, with the
    running job's id in `extra.job`): it would make the same creatives twice over.
    """
    _refuse_if_ended(campaign, "generate")
    problems = []
    image_sizes = campaign_sizes(campaign=campaign)
    video_sizes = campaign_sizes(campaign=campaign, format=Placement.Format.VIDEO)
    if not campaign.templates.filter(status=Template.Status.PUBLISHED).exists():
        problems.append("add at least one published template")
    if not image_sizes and not video_sizes:
        problems.append("add at least one placement")
    if image_sizes and not _published_versions(campaign, Template.Kind.IMAGE):
        problems.append("add a published image template for the image placements")
    if video_sizes and not _published_versions(campaign, Template.Kind.VIDEO):
        problems.append("add a published video template for the video placements")
    if not campaign.copy.titles:
        problems.append("give the ad copy at least one title")
    if not 1 <= campaign.candidates_per_size <= CANDIDATES_PER_SIZE_MAX:  # a row saved before the limit
        problems.append(f"set design families drawn per product set between 1 and {CANDIDATES_PER_SIZE_MAX}")
    product_sets = campaign_product_sets(campaign=campaign)
    if not product_sets:
        problems.append(f"add at least {campaign.products_per_creative} product(s)")
    if problems:
        raise CampaignNotReady(
            f"{campaign.name} cannot be generated yet: " + "; ".join(problems) + ".", extra={"problems": problems}
        )
    with transaction.atomic():
        # Locked so that two clicks on Generate (or two API calls) cannot both find no running job.
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        running = GenerationJob.objects.filter(campaign=campaign, state=GenerationJob.State.RUNNING).first()
        if running is not None:
            raise ConflictError(
                f"{campaign.name} is already being generated (job {running.pk}, "
                f"{len(running.completed_sets) + len(running.failed_sets)} of {running.product_sets_total} "
                "product set(s) done): wait for it to finish.",
                code="generation_running",
                extra={"job": running.pk},
            )
        job = GenerationJob.objects.create(
            campaign=campaign,
            requested_by=requested_by,
            product_sets_total=len(product_sets),
            product_sets=product_sets,
            state=GenerationJob.State.RUNNING,
            progressed_at=timezone.now(),
        )
        Campaign.objects.filter(pk=campaign.pk, status__in=_STATUSES_GENERATION_MOVES).update(
            status=Campaign.Status.GENERATING
        )
        transaction.on_commit(serving_changed)
        _product_sets_enqueue_on_commit(job.pk, product_sets)
    return job


def _tasks():
    """campaigns.tasks, looked up when a task is sent.

    The tasks import these services at their module's top (a task is a thin call into them), so
    the services cannot import the tasks at theirs; this is the one place that reaches back up.
    The task objects themselves are used (not `send_task` by name) so that eager mode, retries
    and `delay_on_commit` keep working exactly as the tasks declare them.
    """
    from .. import tasks

    return tasks


def _product_sets_enqueue_on_commit(job_id: int, product_sets: list[list[str]]) -> None:
    """One generation task per product set, sent once the current transaction commits.

    With CREATIVE_JOBS_IN_BACKGROUND (the embedded default: no broker, so no worker), the tasks
    run one after the other on this process's background thread instead, and the request that
    started the job returns at once.
    """

    def enqueue():
        if settings.CREATIVE_JOBS_IN_BACKGROUND:
            background_submit(_background_key(job_id), lambda: _product_sets_run(job_id, product_sets))
            return
        generate_product_set = _tasks().generate_product_set
        group(generate_product_set.s(job_id, skus) for skus in product_sets).apply_async()

    transaction.on_commit(enqueue)


def _background_key(job_id: int) -> tuple[str, int]:
    return ("generation-job", job_id)


def _product_sets_run(job_id: int, product_sets: list[list[str]]) -> None:
    """Run each set's task here, in order (the background thread's work): the tasks' own code path,
    retries included. A set whose task failed without recording itself is recorded as failed, so
    the job still finishes: nothing else would notice here, there is no broker to redeliver it."""
    generate_product_set = _tasks().generate_product_set
    for skus in product_sets:
        result = generate_product_set.apply(args=(job_id, skus))
        if result.failed():
            job = GenerationJob.objects.get(pk=job_id)
            product_key = "+".join(skus)
            if product_key not in job.completed_sets and product_key not in job.failed_sets:
                product_set_failed(job_id=job_id, skus=skus, error=f"{type(result.result).__name__}: {result.result}")


def generation_jobs_resume(*, stalled_seconds: int) -> dict[int, int]:
    """Send again the unfinished product sets of running jobs that made no progress for `stalled_seconds`.

    The safety net under the broker: a task is lost, not just late, when Redis dies between
    handing it to a worker and recording it as unacknowledged, or a web process dies between
    committing a job and sending its tasks. Sending a set twice is harmless (tasks are
    idempotent and a finished set returns at once), so a stalled job gets all of its unfinished
    sets again, and waits `stalled_seconds` more before the next try. Returns {job id: sets sent}.
    """
    cutoff = timezone.now() - timedelta(seconds=stalled_seconds)
    resumed: dict[int, int] = {}
    stalled = GenerationJob.objects.filter(state=GenerationJob.State.RUNNING, progressed_at__lt=cutoff)
    for job_id in stalled.values_list("pk", flat=True):
        sent = _job_resume(job_id, cutoff)
        if sent is not None:
            resumed[job_id] = sent
    return resumed


def generation_job_resume_orphaned(*, job: GenerationJob) -> bool:
    """Resume a job the embedded default's background thread left running when its process stopped.

    With CREATIVE_JOBS_IN_BACKGROUND a job runs on a thread of the process that started it, and
    no broker keeps its tasks: after a restart nothing would ever finish it. A running job with no
    work queued in this process and no progress since this process started is such an orphan; its
    unfinished sets are run again here (idempotent, as under the broker). Called when someone looks
    at the job (its progress, the campaign's page). Returns whether it was resumed.
    """
    if not settings.CREATIVE_JOBS_IN_BACKGROUND or job.state != GenerationJob.State.RUNNING:
        return False
    if background_running(_background_key(job.pk)):
        return False
    started = datetime.fromtimestamp(PROCESS_STARTED_AT, tz=UTC)
    if job.progressed_at and job.progressed_at >= started:
        return False  # it progressed in this process's life: this process ran it
    return _job_resume(job.pk, started) is not None


def _job_resume(job_id: int, cutoff) -> int | None:
    """Send again a running job's unfinished sets if it made no progress since `cutoff`; how many were sent
    (None: it finished, progressed or is being resumed meanwhile)."""
    with transaction.atomic():
        job = (
            GenerationJob.objects.select_for_update(skip_locked=True)
            .filter(pk=job_id, state=GenerationJob.State.RUNNING, progressed_at__lt=cutoff)
            .first()
        )
        if job is None:
            return None
        finished = {*job.completed_sets, *job.failed_sets}
        remaining = [skus for skus in job.product_sets if "+".join(skus) not in finished]
        job.progressed_at = timezone.now()
        job.save(update_fields=["progressed_at"])
        if remaining:
            logger.warning("Generation job %s stalled: its %s unfinished sets sent again", job.pk, len(remaining))
            _product_sets_enqueue_on_commit(job.pk, remaining)
        return len(remaining)


def product_set_failed(*, job_id: int, skus: list[str], error: str) -> None:
    """Record a product set as failed (its task gave up), so the job still finishes."""
    _job_mark(job_id, "+".join(skus), error=error)


CANDIDATE_ERRORS_KEPT = 500  # per job: enough to see what broke, without rewriting a huge row per product set


def _job_mark(
    job_id: int,
    product_key: str,
    *,
    error: str | None = None,
    seconds: float | None = None,
    candidate_errors: list[dict] | None = None,
) -> None:
    """Mark a product set done (or failed with `error`), with its failed candidates; finish the job after the last."""
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().select_related("campaign").get(pk=job_id)
        already_done = product_key in job.completed_sets
        if error is None and not already_done:
            job.completed_sets = [*job.completed_sets, product_key]
            job.failed_sets.pop(product_key, None)
        elif error is not None and not already_done:
            job.failed_sets = {**job.failed_sets, product_key: error[:500]}
        if candidate_errors is not None and (error is None or not already_done):
            # The set's failed candidates are those of its latest run: a re-run replaces, never adds twice.
            others = [e for e in job.candidate_errors if e["product_key"] != product_key]
            ours = [{"product_key": product_key, **e} for e in candidate_errors]
            job.candidate_errors = (others + ours)[:CANDIDATE_ERRORS_KEPT]
        if seconds is not None:
            job.set_seconds = {**job.set_seconds, product_key: round(seconds, 3)}
        job.progressed_at = timezone.now()
        if len(job.completed_sets) + len(job.failed_sets) >= job.product_sets_total:
            job.state = GenerationJob.State.DONE if job.completed_sets else GenerationJob.State.FAILED
            job.finished_at = job.finished_at or timezone.now()
            Campaign.objects.filter(pk=job.campaign_id, status=Campaign.Status.GENERATING).update(
                status=Campaign.Status.REVIEW
            )
            if job.campaign.webhook_url and not job.webhook_status:  # once, even if a task runs twice
                job.webhook_status = "queued"
                _tasks().send_job_webhook.delay_on_commit(job.pk)
        job.save()
