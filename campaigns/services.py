"""Writes for the product catalogue, its campaigns and their creatives.

Bulk product import lives in `importing` (it grew long) and is exported from here too.
"""

import dataclasses
import logging
import math
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.utils import timezone

from creativeadmin.errors import ApplicationError, ConflictError, PayloadTooLarge
from creativeadmin.storage_paths import content_addressed_name, sha256_hex, stored_once, transient_storage_errors
from synthesis.errors import ImageRejected
from synthesis.images import image_extension, load_image

from .errors import CampaignNotReady, ProductRejected, WebhookFailed
from .errors import ImportRejected as ImportRejected
from .importing import ImportReport as ImportReport
from .importing import products_import as products_import
from .importing import products_import_json as products_import_json
from .models import (
    CANDIDATES_PER_SIZE_MAX,
    Campaign,
    Creative,
    GenerationJob,
    Placement,
    PoolEntry,
    Product,
    ProductPool,
)
from .serving import serving_changed

logger = logging.getLogger(__name__)


def product_upsert(
    *,
    sku: str,
    title: str,
    price: Decimal,
    image_data: bytes | None,
    category: str = "",
    highlights: list[str] | None = None,
    currency: str = "CNY",
) -> Product:
    """Create or update a product by sku; ProductRejected (with `extra["fields"]`) before anything is stored.

    `image_data` None keeps an existing product's main image (a new product needs one). The image
    is stored re-encoded from its pixels, as assets are (templates_app's image_file_reencoded), never
    as sent: whatever rode along (script appended to a PNG, metadata) is dropped. The image file and
    the row land together: every field and the image are checked first, a stored file is shared by
    every product whose image re-encodes to the same bytes (content-addressed), and a file this
    call wrote is removed again if its row cannot be saved.
    """
    from templates_app.services import image_file_reencoded

    stored = extension = None
    if image_data is not None:
        try:
            image = load_image(image_data, max_pixels=settings.CREATIVE_MAX_IMAGE_PIXELS)
            stored, extension = image_file_reencoded(image, source_extension=image_extension(image_data))
        except ImageRejected as exc:
            raise ProductRejected(
                f"{sku}: main image rejected: {exc}",
                code=f"image_{exc.reason}",
                extra={"fields": {"image": [str(exc)]}},
            ) from exc
    written = None
    try:
        with transaction.atomic():
            product = Product.objects.select_for_update().filter(sku=sku).first() or Product(sku=sku)
            if image_data is None and product.pk is None:
                needed = "A new product needs a main image."
                raise ProductRejected(f"{sku}: {needed}", code="image_required", extra={"fields": {"image": [needed]}})
            product.title = title
            product.price = Decimal(price)
            product.currency = currency
            product.category = category
            product.highlights = list(highlights) if isinstance(highlights, tuple) else (highlights or [])
            try:
                product.full_clean(exclude=["main_image"])  # every field checked before a file is written
            except ValidationError as exc:
                raise ProductRejected(
                    f"{sku}: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()),
                    code="invalid_product",
                    extra={"fields": exc.message_dict},
                ) from exc
            name = content_addressed_name("products", stored, extension) if stored is not None else None
            if name and product.main_image.name != name:
                # Saved under its content-addressed name as is (FieldFile.save would prefix upload_to
                # again and add a random suffix to a name already stored, copying the same bytes).
                with transient_storage_errors():
                    name, wrote = stored_once(product.main_image.storage, name, ContentFile(stored))
                written = name if wrote else None
                product.main_image.name = name
            product.save()
    except BaseException:
        if written:  # the row did not land, so neither does its file
            try:
                product.main_image.storage.delete(written)
            except Exception:  # the original error matters more; the orphan is only garbage
                logger.exception("Could not remove %s after its product failed to save", written)
        raise
    return product


def campaign_product_sets(*, campaign: Campaign) -> list[list[str]]:
    """The campaign's products in sets of `products_per_creative` (a short last set is dropped)."""
    skus = list(campaign.products.order_by("sku").values_list("sku", flat=True))
    n = campaign.products_per_creative
    return [skus[i : i + n] for i in range(0, len(skus) - n + 1, n)]


def campaign_sizes(*, campaign: Campaign, format: str = Placement.Format.IMAGE) -> list[tuple[int, int]]:
    """The distinct sizes of the campaign's placements of one format (image or video)."""
    sizes: list[tuple[int, int]] = []
    for placement in campaign.placements.filter(format=format).order_by("name"):
        for w, h in placement.sizes:
            if (w, h) not in sizes:
                sizes.append((w, h))
    return sizes


def _published_versions(campaign: Campaign, kind: str) -> list:
    from templates_app.models import Template

    templates = (
        campaign.templates.filter(status=Template.Status.PUBLISHED, kind=kind)
        .select_related("current_version")
        .order_by("name")
    )
    return [t.current_version for t in templates if t.current_version_id]


def generation_job_start(*, campaign: Campaign, requested_by=None) -> GenerationJob:
    """Check the campaign can be generated, record a job, and fan out one task per product set."""
    from templates_app.models import Template

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
        problems.append(f"set candidates per size between 1 and {CANDIDATES_PER_SIZE_MAX}")
    product_sets = campaign_product_sets(campaign=campaign)
    if not product_sets:
        problems.append(f"add at least {campaign.products_per_creative} product(s)")
    if problems:
        raise CampaignNotReady(
            f"{campaign.name} cannot be generated yet: " + "; ".join(problems) + ".", extra={"problems": problems}
        )
    with transaction.atomic():
        job = GenerationJob.objects.create(
            campaign=campaign,
            requested_by=requested_by,
            product_sets_total=len(product_sets),
            product_sets=product_sets,
            state=GenerationJob.State.RUNNING,
            progressed_at=timezone.now(),
        )
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.GENERATING)
        transaction.on_commit(serving_changed)
        _product_sets_enqueue_on_commit(job.pk, product_sets)
    return job


def _product_sets_enqueue_on_commit(job_id: int, product_sets: list[list[str]]) -> None:
    """One generation task per product set, sent once the current transaction commits."""

    def enqueue():
        from celery import group

        from .tasks import generate_product_set

        group(generate_product_set.s(job_id, skus) for skus in product_sets).apply_async()

    transaction.on_commit(enqueue)


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
        with transaction.atomic():
            job = (
                GenerationJob.objects.select_for_update(skip_locked=True)
                .filter(pk=job_id, state=GenerationJob.State.RUNNING, progressed_at__lt=cutoff)
                .first()
            )
            if job is None:  # finished, progressed or being resumed meanwhile
                continue
            finished = {*job.completed_sets, *job.failed_sets}
            remaining = [skus for skus in job.product_sets if "+".join(skus) not in finished]
            job.progressed_at = timezone.now()
            job.save(update_fields=["progressed_at"])
            if remaining:
                logger.warning("Generation job %s stalled: its %s unfinished sets sent again", job.pk, len(remaining))
                _product_sets_enqueue_on_commit(job.pk, remaining)
            resumed[job.pk] = len(remaining)
    return resumed


def _ad_copies(campaign: Campaign, products: list[Product]) -> list:
    from synthesis.render import AdCopy

    copy = campaign.copy
    subtitles = copy.subtitles or [""]
    return [
        AdCopy(
            title=t,
            subtitle=subtitles[i % len(subtitles)],
            price=f"¥{products[0].price.normalize():f}",
            badge=copy.badge,
        )
        for i, t in enumerate(copy.titles)
    ]


def creatives_generate_for_product_set(*, job_id: int, skus: list[str]) -> list[Creative]:
    """Make one product set's creatives: the best images per image size, a video per video size.

    Safe to run twice: creatives are keyed by (campaign, products, format, size, variant) and
    the product set is marked done once. A failing candidate (one template version at one size,
    one image's encoding, one video) is recorded on the job and the rest of the set is made; a
    set whose inputs fail (a product, its image) or whose every candidate fails is recorded as
    failed and the job goes on with the others. Storage errors (OSError) propagate so the task
    can retry.
    """
    import time

    from synthesis.errors import SynthesisError

    started = time.perf_counter()
    job = GenerationJob.objects.select_related("campaign", "campaign__copy").get(pk=job_id)
    campaign = job.campaign
    product_key = "+".join(skus)
    if product_key in job.completed_sets:
        return list(campaign.creatives.filter(product_key=product_key))
    failures: list[dict] = []
    try:
        products = [Product.objects.get(sku=sku) for sku in skus]
        stored = _image_creatives(job, products, product_key, failures)
        stored += _video_creatives(job, products, product_key, failures)
    except (SynthesisError, Product.DoesNotExist, FileNotFoundError) as exc:
        # A missing stored image will not come back by retrying: recorded like a bad product.
        error = f"{type(exc).__name__}: {exc}"
    else:
        error = None
        if failures and not stored:
            error = "; ".join(dict.fromkeys(f["message"] for f in failures))  # each distinct reason once
    seconds = time.perf_counter() - started
    _job_mark(job_id, product_key, error=error, seconds=seconds, candidate_errors=failures)
    return [] if error else stored


class _CandidateAttempt:
    """What `_candidate` yields: `failed` is set once the block has raised and been recorded."""

    failed = False


@contextmanager
def _candidate(failures: list[dict], *, format: str, version, size: tuple[int, int], variant: int | None):
    """Run one candidate's work; an error in it is appended to `failures` instead of failing its set.

    OSError is left to propagate: a storage error is retried by the task and a missing file fails
    the set, neither being one candidate's fault.
    """
    attempt = _CandidateAttempt()
    try:
        yield attempt
    except OSError:
        raise
    except Exception as exc:
        logger.warning("Candidate %s %s %sx%s #%s failed", format, version, *size, variant, exc_info=True)
        attempt.failed = True
        failures.append(
            {
                "format": format,
                "template_version": version.pk,
                "template": str(version),
                "size": f"{size[0]}x{size[1]}",
                "variant": variant,
                "message": f"{type(exc).__name__}: {exc}"[:500],
            }
        )


def _file_size_limits(campaign: Campaign, format: str) -> dict[tuple[int, int], int]:
    """Per size, the smallest max_file_kb among the campaign's placements of that format showing it."""
    limits: dict[tuple[int, int], int] = {}
    for placement in campaign.placements.filter(format=format):
        for w, h in placement.sizes:
            limits[(w, h)] = min(limits.get((w, h), placement.max_file_kb), placement.max_file_kb)
    return limits


def _over_file_size(size_bytes: int, limit_kb: int) -> str:
    """The violation a creative too big for its placement carries: never auto-approved, and the reviewer sees why."""
    return f"over_file_size:{size_bytes // 1024}KB>{limit_kb}KB"


def _first_state(campaign: Campaign, score: float, violations) -> str:
    """Approved at once when the campaign's auto-approve threshold is met with no hard-check failure."""
    threshold = campaign.auto_approve_score
    if threshold is not None and score >= threshold and not violations:
        return Creative.State.APPROVED
    return Creative.State.PENDING


def _search_per_size(
    search, templates: list, versions: dict, sizes, *, product_count: int, top_k: int, failures: list[dict]
) -> list:
    """The engine's creatives for every size, a template that fails at a size recorded and left out there.

    Each size is searched on its own (the engine draws every size's candidates from its own seeded
    generator, so this is what one call for all sizes returns). When a size's search raises, each
    template is searched alone at it to find the one at fault, and the others' best are merged.
    """
    from synthesis.layout import aspect_class
    from synthesis.search import NoSuitableTemplate

    creatives = []
    for size in sizes:
        shape = aspect_class(*size)
        fitting = [t for t in templates if t.products_min <= product_count <= t.products_max]
        if fitting and not any(shape in t.shapes for t in fitting):
            # The designers made none of these templates for this canvas shape: the size is left
            # out (and said so), the product set's other sizes are still made.
            failures.append(
                {
                    "format": Placement.Format.IMAGE, "template_version": None, "template": "",
                    "size": f"{size[0]}x{size[1]}", "variant": None,
                    "message": f"No template of this campaign is made for {shape} canvases.",
                }
            )  # fmt: skip
            continue
        try:
            creatives += search(templates, size)
            continue
        except (NoSuitableTemplate, OSError):  # the product set itself, or storage: not a candidate's fault
            raise
        except Exception:
            logger.info("Search at %sx%s failed; searching each template alone", *size, exc_info=True)
        found = []
        for template in templates:
            if not template.products_min <= product_count <= template.products_max:
                continue  # never a candidate for this product set
            version = versions[template.name]
            with _candidate(failures, format=Placement.Format.IMAGE, version=version, size=size, variant=None):
                found += search([template], size)
        found.sort(key=lambda c: (c.score.passes_hard_checks, c.score.total), reverse=True)
        creatives += [dataclasses.replace(c, rank=rank) for rank, c in enumerate(found[:top_k])]
    return creatives


def _image_creatives(job: GenerationJob, products: list[Product], product_key: str, failures: list[dict]):
    """The engine's candidate search over the image templates; the top K per image size stored."""
    from analytics.learning import active_scorer
    from synthesis.colour import rgb_to_hex
    from synthesis.product import product_theme_colours
    from synthesis.render import encode_jpeg_within, thumbnail_jpeg
    from synthesis.search import search_creatives
    from synthesis.spec import parse_template
    from templates_app.engine import asset_images, font_registry, prepared_product
    from templates_app.models import Template

    campaign = job.campaign
    sizes = campaign_sizes(campaign=campaign)
    versions = _published_versions(campaign, Template.Kind.IMAGE)
    if not sizes or not versions:
        return []
    templates = [parse_template(v.spec) for v in versions]
    by_name = {t.name: v for t, v in zip(templates, versions, strict=True)}
    prepared = [prepared_product(p.main_image.name) for p in products]
    theme = product_theme_colours(prepared[0].image)
    copies, fonts, assets, scorer = _ad_copies(campaign, products), font_registry(), asset_images(), active_scorer()

    def search(templates_: list, size: tuple[int, int]) -> list:
        return list(
            search_creatives(
                templates_,
                prepared,
                copies,
                [size],
                theme=theme,
                fonts=fonts,
                assets=assets,
                n=campaign.candidates_per_size,
                top_k=campaign.top_k,
                seed=campaign.seed,
                scorer=scorer,  # the learned CTR model once it beats the fixed weights, else None
            ).creatives
        )

    found = _search_per_size(
        search, templates, by_name, sizes, product_count=len(products), top_k=campaign.top_k, failures=failures
    )
    limits = _file_size_limits(campaign, Placement.Format.IMAGE)
    stored = []
    for creative in found:
        version = by_name[creative.candidate.template.name]
        limit_kb = limits.get(creative.size)
        with _candidate(
            failures, format=Placement.Format.IMAGE, version=version, size=creative.size, variant=creative.rank
        ) as attempt:
            data, quality, fits = encode_jpeg_within(creative.rendered.image, limit_kb * 1024 if limit_kb else None)
            thumb = thumbnail_jpeg(creative.rendered.image)
        if attempt.failed:
            continue
        violations = list(creative.score.violations)
        if not fits:
            violations.append(_over_file_size(len(data), limit_kb))
        row, created = Creative.objects.get_or_create(
            campaign=campaign,
            product_key=product_key,
            format=Placement.Format.IMAGE,
            width=creative.size[0],
            height=creative.size[1],
            variant=creative.rank,
            defaults=dict(
                job=job,
                template_version=version,
                content_hash=sha256_hex(data),
                aesthetic_score=creative.score.total,
                score_breakdown=dict(creative.score.components),
                violations=violations,
                theme_colours=[rgb_to_hex(c) for c in theme.colours],
                provenance={**creative.provenance, "jpeg_quality": quality},
                state=_first_state(campaign, creative.score.total, violations),
            ),
        )
        if created or not row.file:
            with transient_storage_errors():
                row.thumbnail.save(content_addressed_name("creatives", thumb, "jpg"), ContentFile(thumb), save=False)
                row.file.save(content_addressed_name("creatives", data, "jpg"), ContentFile(data), save=True)
        stored.append(row)
    return stored


def _video_creatives(job: GenerationJob, products: list[Product], product_key: str, failures: list[dict]):
    """The top K videos per video size among the published video templates, ranked by the end card's score.

    A video already stored for its slot is not rendered again (a re-run costs a query, not a
    render). A template version that cannot be planned, or a video that fails to render, is
    recorded and the next best takes its slot. With the placement's file-size limit the engine
    re-encodes a video that comes out too big; one that still does not fit is flagged.
    """
    import functools
    import tempfile
    from pathlib import Path

    from synthesis.colour import rgb_to_hex
    from synthesis.product import product_theme_colours
    from synthesis.score import aesthetic_score
    from synthesis.video import VideoProduct, plan_video, render_video, video_palette
    from synthesis.video_spec import parse_video_template
    from templates_app.engine import asset_images, font_registry, footage_file, prepared_product
    from templates_app.models import Template

    campaign = job.campaign
    sizes = campaign_sizes(campaign=campaign, format=Placement.Format.VIDEO)
    versions = _published_versions(campaign, Template.Kind.VIDEO)
    if not sizes or not versions:
        return []
    items = [VideoProduct(prepared_product(p.main_image.name), tuple(p.highlights), p.sku) for p in products]
    palette = video_palette(items)
    theme = product_theme_colours(items[0].product.image)
    copy = _ad_copies(campaign, products)[0]
    fonts, assets = font_registry(), asset_images()
    limits = _file_size_limits(campaign, Placement.Format.VIDEO)

    @functools.cache
    def template_and_footage(version):
        template = parse_video_template(version.spec)
        return template, footage_file(template.base.asset) if template.base.type == "footage" else None

    stored = []
    for size in sizes:
        plans = []
        for version in versions:
            with _candidate(failures, format=Placement.Format.VIDEO, version=version, size=size, variant=None):
                template, footage = template_and_footage(version)
                plan = plan_video(
                    template, size, products=items, copy=copy, palette=palette, fonts=fonts, assets=assets
                )
                score = aesthetic_score(plan.end_card, theme=theme, palette=palette) if plan.end_card else None
                plans.append((version, footage, plan, score))
        plans.sort(key=lambda p: -(p[3].total if p[3] else 0.0))
        slot = dict(campaign=campaign, product_key=product_key, format=Placement.Format.VIDEO)
        slot.update(width=size[0], height=size[1])
        done = {c.variant: c for c in Creative.objects.filter(**slot, variant__lt=campaign.top_k).exclude(file="")}
        stored += done.values()
        free = [v for v in range(campaign.top_k) if v not in done]
        done_versions = {c.template_version_id for c in done.values()}
        for version, footage, plan, score in plans:
            if not free:
                break
            if version.pk in done_versions:
                continue
            variant, limit_kb = free[0], limits.get(size)
            candidate = dict(format=Placement.Format.VIDEO, version=version, size=size, variant=variant)
            with _candidate(failures, **candidate) as attempt, tempfile.TemporaryDirectory(prefix="video-") as tmp:
                result = render_video(
                    plan,
                    Path(tmp) / "video.mp4",
                    footage=footage,
                    products=items,
                    timeout=settings.CREATIVE_VIDEO_TIMEOUT,
                    max_bytes=limit_kb * 1024 if limit_kb else None,
                )
                video, poster = result.path.read_bytes(), result.poster.read_bytes()
            if attempt.failed:
                continue  # the next best plan takes this slot
            violations = list(score.violations) if score else []
            if not result.fits:
                violations.append(_over_file_size(len(video), limit_kb))
            row, _ = Creative.objects.get_or_create(
                **slot,
                variant=variant,
                defaults=dict(
                    job=job,
                    template_version=version,
                    content_hash=sha256_hex(video),
                    duration=plan.template.duration,
                    aesthetic_score=score.total if score else 0.0,
                    score_breakdown=dict(score.components) if score else {},
                    violations=violations,
                    theme_colours=[rgb_to_hex(c) for c in theme.colours],
                    provenance={
                        "template": plan.template.name,
                        "palette": palette.name,
                        "video": result.manifest,
                        "encoding": dict(result.encoding),
                    },
                    state=_first_state(campaign, score.total if score else 0.0, violations),
                ),
            )
            with transient_storage_errors():
                row.file.save(content_addressed_name("creatives", video, "mp4"), ContentFile(video), save=False)
                row.poster.save(content_addressed_name("creatives", poster, "jpg"), ContentFile(poster), save=False)
            row.save(update_fields=["file", "poster"])
            stored.append(row)
            free.pop(0)
    return stored


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
                from .tasks import send_job_webhook

                job.webhook_status = "queued"
                send_job_webhook.delay_on_commit(job.pk)
        job.save()


WEBHOOK_TIMEOUT = 5.0


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: receivers recompute it and check the time."""
    import hmac

    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, "sha256").hexdigest()
    return f"t={timestamp},v1={digest}"


def job_webhook_send(*, job_id: int) -> str:
    """POST the finished job to its campaign's webhook URL, signed; raises WebhookFailed to be retried.

    The job's `webhook_status` is "delivered" or "failed: <code>" (codes in
    campaigns.webhooks.WebhookUndeliverable), never what the receiver or the network said: the
    status must not become a probe of what answers where. A destination that is not allowed is
    not retried. The details go to the log.
    """
    import json
    import time

    from .webhooks import WebhookUndeliverable, webhook_post

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


def creatives_review(*, creatives, approve: bool) -> int:
    """Approve or reject creatives (only approved ones are ever served); returns how many changed."""
    state = Creative.State.APPROVED if approve else Creative.State.REJECTED
    changed = Creative.objects.filter(pk__in=[c.pk for c in creatives]).exclude(state=state).update(state=state)
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


POOL_SCORES_MAX = 10_000


def pool_scores_size_check(*, count: int) -> None:
    """PayloadTooLarge (413) past POOL_SCORES_MAX rows, so an oversized request is refused before its rows are read."""
    if count > POOL_SCORES_MAX:
        raise PayloadTooLarge(
            f"At most {POOL_SCORES_MAX:,} scores per request; this one has {count:,}.",
            extra={"max_rows": POOL_SCORES_MAX},
        )


def pool_scores_upsert(*, pool: ProductPool, rows: list[dict]) -> dict:
    """Upsert interest scores {sku, segment, score} as the recommender recomputes them.

    Returns {"upserted": n, "unknown_skus": [...]}; rows naming unknown products are skipped, and
    the last score for a (product, segment) in the request wins. One bulk statement; serving's
    cached rankings are dropped everywhere (the next serve computes them once).
    Raises PayloadTooLarge past POOL_SCORES_MAX rows, ApplicationError for a score that is not a
    finite number or a segment over 64 characters.
    """
    pool_scores_size_check(count=len(rows))
    skus = {str(r["sku"]) for r in rows}
    ids = dict(Product.objects.filter(sku__in=skus).values_list("sku", "pk"))
    entries = {}
    for index, r in enumerate(rows):
        score, segment = float(r["score"]), str(r.get("segment") or "")
        if not math.isfinite(score) or len(segment) > 64:
            raise ApplicationError(
                f"Row {index}: the score must be a finite number and the segment at most 64 characters.",
                code="invalid_score",
                extra={"row": index},
            )
        if str(r["sku"]) in ids:
            entries[(ids[str(r["sku"])], segment)] = score
    PoolEntry.objects.bulk_create(
        [PoolEntry(pool=pool, product_id=p, segment=s, interest=v) for (p, s), v in entries.items()],
        update_conflicts=True,
        unique_fields=["pool", "product", "segment"],
        update_fields=["interest", "updated_at"],
    )
    # Serving drops its cached rankings now, and again once a caller's transaction commits (a
    # ranking recomputed in between would not have seen the new scores).
    serving_changed()
    transaction.on_commit(serving_changed)
    return {"upserted": len(entries), "unknown_skus": sorted(skus - set(ids))}
