"""Reads for the product catalogue."""

from django.db.models import QuerySet

from .models import Product


def product_list(*, category: str | None = None) -> QuerySet[Product]:
    products = Product.objects.all()
    if category:
        products = products.filter(category=category)
    return products
