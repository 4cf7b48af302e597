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
