"""Reads for the product catalogue."""

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


def review_gallery(*, campaign, state: str = "", format: str = "", size: str = "", min_score: float | None = None):
    """A campaign's creatives for review: [(product key, [(size label, [creatives best first])])].

    Grouped by product set, then by size (so one product set's sizes sit side by side), each
    size's creatives sorted by aesthetic score, best first.
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
    groups: dict[str, dict[str, list]] = {}
    for creative in creatives.order_by("product_key", "format", "-width", "height", "-aesthetic_score"):
        label = f"{creative.width}x{creative.height}" + (" video" if creative.format == "video" else "")
        groups.setdefault(creative.product_key, {}).setdefault(label, []).append(creative)
    return [(key, list(sizes.items())) for key, sizes in groups.items()]


def template_published_version(*, template):
    """The version of a template that generation uses, or None if it has none (a draft, an archived one).

    The one place that says what "published" means for a campaign's templates.
    """
    from templates_app.models import Template

    return template.current_version if template.status == Template.Status.PUBLISHED else None


def campaign_latest_job(*, campaign):
    """The campaign's most recent generation job (the one its pages show the progress of), or None."""
    return campaign.jobs.order_by("-created_at", "-pk").first()
