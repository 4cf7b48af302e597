"""Reads for the product catalogue, the creatives (the review gallery, the creatives API) and the generation jobs
(their latest, their webhook events)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from .errors import CreativeFilterInvalid
from .filters import CreativeFilter
from .models import Creative, GenerationJob, Product


def product_list(*, category: str | None = None) -> QuerySet[Product]:
    products = Product.objects.all()
    if category:
        products = products.filter(category=category)
    return products


def product_list_by_skus(*, skus: list[str]) -> QuerySet[Product]:
    """Products in the order of `skus` (the first is the hero)."""
    from django.db.models import Case, IntegerField, When

    order = Case(*[When(sku=sku, then=i) for i, sku in enumerate(skus)], output_field=IntegerField())
    return Product.objects.filter(sku__in=skus).order_by(order)


# The gallery's order (product set, then its sizes widest first, each best first); the id keeps pages stable.
CREATIVE_ORDER = ("campaign", "product_key", "format", "-width", "height", "-aesthetic_score", "pk")


def creative_list(
    *, filters: Mapping[str, Any] | None = None, ids: Iterable[int] | None = None, strict: bool = True
) -> QuerySet[Creative]:
    """Creatives matching `filters` (the names of campaigns.filters.CreativeFilter) and, given, `ids`, in
    the gallery's order, with what their payload shows (template, version) joined.

    Raises CreativeFilterInvalid naming each malformed filter; with `strict=False` (a hand-edited
    gallery URL) a malformed filter is left out instead.
    """
    creatives = Creative.objects.select_related("template_version__template").order_by(*CREATIVE_ORDER)
    if ids is not None:
        creatives = creatives.filter(pk__in=list(ids))
    if not filters:
        return creatives
    filterset = CreativeFilter(filters, queryset=creatives)
    if strict and not filterset.is_valid():
        errors = {name: [e["message"] for e in messages] for name, messages in filterset.errors.get_json_data().items()}
        problems = " ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        raise CreativeFilterInvalid(f"Invalid filter of creatives: {problems}", extra={"fields": errors})
    return filterset.qs


@dataclass
class GalleryRow:
    """One design family of a product set with its sizes side by side (largest canvas first).

    Videos, and images made before design families, form one row per rank instead.
    """

    rank: int
    format: str
    family: str
    creatives: list = field(default_factory=list)

    @property
    def ids(self) -> str:
        return ",".join(str(c.pk) for c in self.creatives)

    @property
    def score(self) -> float:
        return sum(c.aesthetic_score for c in self.creatives) / len(self.creatives)

    @property
    def template(self) -> str:
        return ", ".join(dict.fromkeys(c.template_version.template.name for c in self.creatives))

    @property
    def copy_source(self) -> dict:
        """Where the row's texts came from (the same for a family's sizes)."""
        return self.creatives[0].provenance.get("copy_source", {})


def review_gallery(*, campaign, state: str = "", format: str = "", size: str = "", min_score: float | None = None):
    """A campaign's creatives for review: [(product key, [GalleryRow, ...])].

    Grouped by product set, then by design family (so a family's sizes sit side by side and are
    approved together), the best family first, videos after images.
    """
    filters = {"campaign": campaign.pk, "state": state, "format": format, "size": size}
    if min_score is not None:
        filters["min_score"] = min_score
    creatives = creative_list(filters=filters, strict=False).order_by(
        "product_key", "-format", "variant", "-width", "height"
    )
    groups: dict[str, dict[tuple, GalleryRow]] = {}
    for creative in creatives:
        key = (creative.format, creative.family or f"rank-{creative.variant}")
        rows = groups.setdefault(creative.product_key, {})
        row = rows.setdefault(key, GalleryRow(creative.variant, creative.format, creative.family))
        row.rank = min(row.rank, creative.variant)
        row.creatives.append(creative)
    return [
        (product_key, sorted(rows.values(), key=lambda r: (r.format != "image", r.rank)))
        for product_key, rows in groups.items()
    ]


@dataclass(frozen=True)
class DuplicateCreatives:
    """Creatives of one product set, size and format that show the same ad: the first kept, the others repeats."""

    campaign: str
    product_key: str
    size: str
    creatives: tuple  # best first
    identical_files: bool  # same bytes; else the same picture to a viewer (perceptual hash)


def creative_duplicates(*, campaign=None) -> list[DuplicateCreatives]:
    """Stored image creatives that repeat another of their product set and size.

    Same bytes, or a perceptual hash within synthesis.search.DUPLICATE_BITS (what candidate
    search skips today; creatives stored before it may repeat). Pictures are read from the
    thumbnails (a 256-bit hash of a 17x16 grey image does not need the full file).
    """
    from PIL import Image

    from synthesis.search import perceptual_hash, same_picture

    creatives = Creative.objects.filter(format="image").select_related("campaign")
    if campaign is not None:
        creatives = creatives.filter(campaign=campaign)
    slots: dict[tuple, list] = {}
    for creative in creatives.order_by("campaign_id", "product_key", "width", "height", "-aesthetic_score", "pk"):
        key = (creative.campaign_id, creative.product_key, creative.width, creative.height)
        slots.setdefault(key, []).append(creative)
    found = []
    for members in slots.values():
        if len(members) < 2:
            continue
        hashes = {}
        for creative in members:
            picture = creative.thumbnail or creative.file
            with picture.open("rb") as fh:
                hashes[creative.pk] = perceptual_hash(Image.open(fh))
        taken: set[int] = set()
        for i, first in enumerate(members):
            if first.pk in taken:
                continue
            repeats = [
                other
                for other in members[i + 1 :]
                if other.pk not in taken
                and (other.content_hash == first.content_hash or same_picture(hashes[first.pk], hashes[other.pk]))
            ]
            if repeats:
                taken.update(c.pk for c in repeats)
                found.append(
                    DuplicateCreatives(
                        campaign=first.campaign.name,
                        product_key=first.product_key,
                        size=f"{first.width}x{first.height}",
                        creatives=(first, *repeats),
                        identical_files=all(c.content_hash == first.content_hash for c in repeats),
                    )
                )
    return found


def template_published_version(*, template):
    """The version of a template that generation uses, or None if it has none (a draft, an archived one).

    The one place that says what "published" means for a campaign's templates.
    """
    from templates_app.models import Template

    return template.published_version if template.status == Template.Status.PUBLISHED else None


def campaign_latest_job(*, campaign):
    """The campaign's most recent generation job (the one its pages show the progress of), or None."""
    return campaign.jobs.order_by("-created_at", "-pk").first()


@dataclass(frozen=True)
class WebhookDelivery:
    """A webhook event of a job, as an operator matches it with the receiver's logs."""

    event_id: str  # the body's "id"
    type: str
    status: str  # queued, delivered or failed: <code> (never the receiver's own answer: docs/webhooks.md)
    attempts: int


def job_webhook_deliveries(*, job: GenerationJob) -> list[WebhookDelivery]:
    """The webhook events sent for `job`: its finished event once it is queued or tried; none while the job
    runs or when its campaign has no webhook URL."""
    if not job.webhook_status and not job.webhook_attempts:
        return []
    return [
        WebhookDelivery(
            event_id=job.webhook_event_id,
            type=job.WEBHOOK_EVENT,
            status=job.webhook_status,
            attempts=job.webhook_attempts,
        )
    ]
