"""Writes for the product catalogue: one product upserted with its re-encoded main image, and its
further photos (lifestyle scenes, details) set."""

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
    ProductImage,
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
    height_cm: float | None = None,
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
        stored, extension = _reencoded(image_data, label=f"{sku}: main image", field="image")
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
            product.height_cm = height_cm
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


def _reencoded(data: bytes, *, label: str, field: str) -> tuple[bytes, str]:
    """The image's pixels re-encoded (what is stored), or ProductRejected naming the field."""
    try:
        image = load_image(data, max_pixels=settings.CREATIVE_MAX_IMAGE_PIXELS)
        return image_file_reencoded(image, source_extension=image_extension(data))
    except ImageRejected as exc:
        raise ProductRejected(
            f"{label} rejected: {exc}", code=f"image_{exc.reason}", extra={"fields": {field: [str(exc)]}}
        ) from exc


def product_image_check(data: bytes) -> None:
    """ProductRejected when `data` is not an image a product may show (what upsert and set would refuse)."""
    _reencoded(data, label="The image", field="image")


PRODUCT_IMAGES_MAX = 8  # further photos per product: a few scenes and details, not a gallery


def product_images_set(*, product: Product, images: list[tuple[str, bytes]]) -> list[ProductImage]:
    """Replace the product's further photos with `images` ([(kind, bytes)], kinds of ProductImage.Kind).

    Every image is checked and re-encoded before anything changes (ProductRejected naming the
    one at fault); files are content-addressed and written once, and a file this call wrote is
    removed again if the rows cannot be saved.
    """
    if len(images) > PRODUCT_IMAGES_MAX:
        raise ProductRejected(
            f"{product.sku}: at most {PRODUCT_IMAGES_MAX} further images.", code="too_many_images",
            extra={"fields": {"images": [f"At most {PRODUCT_IMAGES_MAX}."]}},
        )  # fmt: skip
    prepared = []
    for i, (kind, data) in enumerate(images):
        if kind not in ProductImage.Kind.values:
            message = f"Kind is one of {', '.join(ProductImage.Kind.values)}."
            raise ProductRejected(f"{product.sku}: image {i + 1}: {message}", code="image_kind",
                                  extra={"fields": {"images": [message]}})  # fmt: skip
        stored, extension = _reencoded(data, label=f"{product.sku}: image {i + 1}", field="images")
        prepared.append((kind, content_addressed_name("products", stored, extension), stored))
    storage = ProductImage._meta.get_field("file").storage
    written = []
    try:
        with transaction.atomic():
            product.images.all().delete()
            rows = []
            positions: dict[str, int] = {}
            for kind, name, stored in prepared:
                with transient_storage_errors():
                    name, wrote = stored_once(storage, name, ContentFile(stored))
                if wrote:
                    written.append(name)
                rows.append(ProductImage(product=product, kind=kind, file=name, position=positions.get(kind, 0)))
                positions[kind] = positions.get(kind, 0) + 1
            ProductImage.objects.bulk_create(rows)
    except BaseException:
        for name in written:  # the rows did not land, so neither do their files
            try:
                storage.delete(name)
            except Exception:
                logger.exception("Could not remove %s after its product images failed to save", name)
        raise
    return list(product.images.all())
