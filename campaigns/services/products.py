"""Writes for the product catalogue: one product upserted with its re-encoded main image."""

import logging
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from creativeadmin.errors import full_clean_or_raise
from creativeadmin.storage_paths import content_addressed_name, stored_once, transient_storage_errors
from synthesis.errors import ImageRejected
from synthesis.images import image_extension, load_image
from templates_app.services import image_file_reencoded

from ..errors import ProductRejected
from ..models import (
    Product,
)

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
    short_title: str = "",
    badge: str = "",
) -> Product:
    """Create or update a product by sku; ProductRejected (with `extra["fields"]`) before anything is stored.

    `image_data` None keeps an existing product's main image (a new product needs one). The image
    is stored re-encoded from its pixels, as assets are (templates_app's image_file_reencoded), never
    as sent: whatever rode along (script appended to a PNG, metadata) is dropped. The image file and
    the row land together: every field and the image are checked first, a stored file is shared by
    every product whose image re-encodes to the same bytes (content-addressed), and a file this
    call wrote is removed again if its row cannot be saved.
    """

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
            product.short_title = short_title
            product.badge = badge
            # Every field checked before a file is written.
            full_clean_or_raise(
                product, exclude=["main_image"], error=ProductRejected, label=sku, code="invalid_product"
            )
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
