"""Reads for the product catalogue and the creatives (the review gallery, the creatives API)."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import QuerySet

from .errors import CreativeFilterInvalid
from .filters import CreativeFilter
from .models import Creative, Product


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


def review_gallery(*, campaign, state: str = "", format: str = "", size: str = "", min_score: float | None = None):
    """A campaign's creatives for review: [(product key, [(size label, [creatives best first])])].

    Grouped by product set, then by size (so one product set's sizes sit side by side), each
    size's creatives sorted by aesthetic score, best first.
    """
    filters = {"campaign": campaign.pk, "state": state, "format": format, "size": size}
    if min_score is not None:
        filters["min_score"] = min_score
    groups: dict[str, dict[str, list]] = {}
    for creative in creative_list(filters=filters, strict=False):
        label = f"{creative.width}x{creative.height}" + (" video" if creative.format == "video" else "")
        groups.setdefault(creative.product_key, {}).setdefault(label, []).append(creative)
    return [(key, list(sizes.items())) for key, sizes in groups.items()]
