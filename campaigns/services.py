"""Writes for the product catalogue."""

from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from creativeadmin.errors import ApplicationError
from creativeadmin.storage_paths import content_addressed_name
from synthesis.errors import ImageRejected
from synthesis.images import load_image

from .models import Product


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
