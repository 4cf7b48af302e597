"""Reads for the product catalogue."""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from .models import Product


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
    from .models import Creative

    creatives = Creative.objects.filter(campaign=campaign).select_related("template_version__template")
    if state:
        creatives = creatives.filter(state=state)
    if format:
        creatives = creatives.filter(format=format)
    if size:
        width, _, height = size.partition("x")
        if width.isdigit() and height.isdigit():
            creatives = creatives.filter(width=int(width), height=int(height))
    if min_score is not None:
        creatives = creatives.filter(aesthetic_score__gte=min_score)
    groups: dict[str, dict[tuple, GalleryRow]] = {}
    for creative in creatives.order_by("product_key", "-format", "variant", "-width", "height"):
        key = (creative.format, creative.family or f"rank-{creative.variant}")
        rows = groups.setdefault(creative.product_key, {})
        row = rows.setdefault(key, GalleryRow(creative.variant, creative.format, creative.family))
        row.rank = min(row.rank, creative.variant)
        row.creatives.append(creative)
    return [
        (product_key, sorted(rows.values(), key=lambda r: (r.format != "image", r.rank)))
        for product_key, rows in groups.items()
    ]
