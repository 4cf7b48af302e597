"""Writes for the product catalogue."""

from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from creativeadmin.errors import ApplicationError
from creativeadmin.storage_paths import content_addressed_name, sha256_hex
from synthesis.errors import ImageRejected
from synthesis.images import load_image

from .models import Campaign, Creative, GenerationJob, Placement, Product


class ProductRejected(ApplicationError):
    default_code = "product_rejected"


def product_upsert(
    *,
    sku: str,
    title: str,
    price: Decimal,
    image_data: bytes,
    category: str = "",
    highlights: list[str] | None = None,
    currency: str = "CNY",
) -> Product:
    """Create or update a product by sku; its main image is validated before anything is stored."""
    try:
        img = load_image(image_data, max_pixels=settings.CREATIVE_MAX_IMAGE_PIXELS)
    except ImageRejected as exc:
        raise ProductRejected(f"{sku}: main image rejected: {exc}", code=f"image_{exc.reason}") from exc
    extension = "png" if img.mode == "RGBA" else "jpg"
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(sku=sku).first() or Product(sku=sku)
        product.title = title
        product.price = Decimal(price)
        product.currency = currency
        product.category = category
        product.highlights = list(highlights or [])
        name = content_addressed_name("products", image_data, extension)
        if product.main_image.name != name:
            product.main_image.save(name, ContentFile(image_data), save=False)
        product.full_clean()
        product.save()
    return product


class CampaignNotReady(ApplicationError):
    default_code = "campaign_not_ready"


def campaign_product_sets(*, campaign: Campaign) -> list[list[str]]:
    """The campaign's products in sets of `products_per_creative` (a short last set is dropped)."""
    skus = list(campaign.products.order_by("sku").values_list("sku", flat=True))
    n = campaign.products_per_creative
    return [skus[i : i + n] for i in range(0, len(skus) - n + 1, n)]


def campaign_sizes(*, campaign: Campaign) -> list[tuple[int, int]]:
    sizes: list[tuple[int, int]] = []
    for placement in campaign.placements.filter(format=Placement.Format.IMAGE).order_by("name"):
        for w, h in placement.sizes:
            if (w, h) not in sizes:
                sizes.append((w, h))
    return sizes


def generation_job_start(*, campaign: Campaign, requested_by=None) -> GenerationJob:
    """Check the campaign can be generated, record a job, and fan out one task per product set."""
    from templates_app.models import Template

    problems = []
    if not campaign.templates.filter(status=Template.Status.PUBLISHED).exists():
        problems.append("add at least one published template")
    if not campaign_sizes(campaign=campaign):
        problems.append("add at least one image placement")
    if not campaign.copy.titles:
        problems.append("give the ad copy at least one title")
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
            state=GenerationJob.State.RUNNING,
        )
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.GENERATING)

        def enqueue():
            from celery import group

            from .tasks import generate_product_set

            group(generate_product_set.s(job.pk, skus) for skus in product_sets).apply_async()

        transaction.on_commit(enqueue)
    return job


def creatives_generate_for_product_set(*, job_id: int, skus: list[str]) -> list[Creative]:
    """Run the engine's candidate search for one product set and store the top K per size.

    Safe to run twice: creatives are keyed by (campaign, products, size, variant) and the
    product set is marked done once. A failing product set is recorded on the job, which
    goes on with the others; storage errors (OSError) propagate so the task can retry.
    """
    from synthesis.colour import rgb_to_hex
    from synthesis.errors import SynthesisError
    from synthesis.product import product_theme_colours
    from synthesis.render import AdCopy
    from synthesis.search import search_creatives
    from synthesis.spec import parse_template
    from templates_app.engine import asset_images, font_registry, prepared_product
    from templates_app.models import Template

    job = GenerationJob.objects.select_related("campaign", "campaign__copy").get(pk=job_id)
    campaign = job.campaign
    product_key = "+".join(skus)
    if product_key in job.completed_sets:
        return list(campaign.creatives.filter(product_key=product_key))
    try:
        products = [Product.objects.get(sku=sku) for sku in skus]
        versions = [
            t.current_version
            for t in campaign.templates.filter(status=Template.Status.PUBLISHED)
            .select_related("current_version")
            .order_by("name")
            if t.current_version_id
        ]
        templates = [parse_template(v.spec) for v in versions]
        by_name = {t.name: v for t, v in zip(templates, versions, strict=True)}
        prepared = [prepared_product(p.main_image.name) for p in products]
        theme = product_theme_colours(prepared[0].image)
        copy = campaign.copy
        subtitles = copy.subtitles or [""]
        copies = [
            AdCopy(
                title=t,
                subtitle=subtitles[i % len(subtitles)],
                price=f"¥{products[0].price.normalize():f}",
                badge=copy.badge,
            )
            for i, t in enumerate(copy.titles)
        ]
        result = search_creatives(
            templates,
            prepared,
            copies,
            campaign_sizes(campaign=campaign),
            theme=theme,
            fonts=font_registry(),
            assets=asset_images(),
            n=campaign.candidates_per_size,
            top_k=campaign.top_k,
            seed=campaign.seed,
        )
    except (SynthesisError, Product.DoesNotExist) as exc:
        _job_mark(job_id, product_key, error=f"{type(exc).__name__}: {exc}")
        return []

    stored = []
    for creative in result.creatives:
        data = creative.rendered.encode()
        row, created = Creative.objects.get_or_create(
            campaign=campaign,
            product_key=product_key,
            width=creative.size[0],
            height=creative.size[1],
            variant=creative.rank,
            defaults=dict(
                job=job,
                template_version=by_name[creative.candidate.template.name],
                content_hash=sha256_hex(data),
                aesthetic_score=creative.score.total,
                score_breakdown=dict(creative.score.components),
                violations=list(creative.score.violations),
                theme_colours=[rgb_to_hex(c) for c in theme.colours],
                provenance=dict(creative.provenance),
            ),
        )
        if created or not row.file:
            row.file.save(content_addressed_name("creatives", data, "jpg"), ContentFile(data), save=True)
        stored.append(row)
    _job_mark(job_id, product_key)
    return stored


def _job_mark(job_id: int, product_key: str, *, error: str | None = None) -> None:
    from django.utils import timezone

    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().get(pk=job_id)
        if error is None and product_key not in job.completed_sets:
            job.completed_sets = [*job.completed_sets, product_key]
            job.failed_sets.pop(product_key, None)
        elif error is not None and product_key not in job.completed_sets:
            job.failed_sets = {**job.failed_sets, product_key: error[:500]}
        if len(job.completed_sets) + len(job.failed_sets) >= job.product_sets_total:
            job.state = GenerationJob.State.DONE if job.completed_sets else GenerationJob.State.FAILED
            job.finished_at = job.finished_at or timezone.now()
            Campaign.objects.filter(pk=job.campaign_id, status=Campaign.Status.GENERATING).update(
                status=Campaign.Status.REVIEW
            )
        job.save()


def creatives_review(*, creatives, approve: bool) -> int:
    """Approve or reject creatives (only approved ones are ever served); returns how many changed."""
    state = Creative.State.APPROVED if approve else Creative.State.REJECTED
    return Creative.objects.filter(pk__in=[c.pk for c in creatives]).exclude(state=state).update(state=state)


def campaign_go_live(*, campaign: Campaign) -> Campaign:
    """Start serving; needs at least one approved creative."""
    if not campaign.creatives.filter(state=Creative.State.APPROVED).exists():
        raise CampaignNotReady(f"{campaign.name} has no approved creative to serve yet.", code="nothing_approved")
    campaign.status = Campaign.Status.LIVE
    campaign.save(update_fields=["status"])
    return campaign
