"""Writes for design material: registering fonts, storing assets, upserting brands."""

import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from creativeadmin.errors import ApplicationError
from creativeadmin.storage_paths import content_addressed_name, sha256_hex
from synthesis.errors import FontNotFound, ImageRejected
from synthesis.fonts import font_face_from_file
from synthesis.images import load_image

from .models import Asset, Brand, Font

FONT_EXTENSIONS = {".ttf", ".otf", ".ttc"}


class UploadRejected(ApplicationError):
    default_code = "upload_rejected"


def font_register(
    *, family: str, data: bytes, filename: str, weight: int = 400, style: str = Font.Style.NORMAL, face_index: int = 0
) -> Font:
    """Store a font after proving it loads and renders; reports whether it covers CJK.

    Idempotent on (family, weight, style): registering the same face again returns it.
    """
    extension = Path(filename).suffix.lower()
    if extension not in FONT_EXTENSIONS:
        raise UploadRejected(f"{filename}: fonts must be .ttf, .otf or .ttc.", code="font_format")
    with tempfile.NamedTemporaryFile(suffix=extension) as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            face = font_face_from_file(family, Path(tmp.name), face_index)
        except FontNotFound as exc:
            raise UploadRejected(f"{filename} is not a usable font: {exc}", code="font_unreadable") from exc

    existing = Font.objects.filter(family=family, weight=weight, style=style).first()
    if existing:
        return existing
    font = Font(
        family=family,
        weight=weight,
        style=style,
        face_index=face_index,
        covers_cjk=face.covers_cjk,
        checksum=sha256_hex(data),
    )
    font.file.save(content_addressed_name("fonts", data, extension), ContentFile(data), save=False)
    font.full_clean()
    font.save()
    return font


def asset_create(*, name: str, kind: str, data: bytes, brand: Brand | None = None, uploaded_by=None) -> Asset:
    """Validate an image asset (bombs, corrupt files, formats) and store it once per content."""
    try:
        img = load_image(data, max_pixels=settings.CREATIVE_MAX_IMAGE_PIXELS)
    except ImageRejected as exc:
        raise UploadRejected(f"{name}: {exc}", code=f"image_{exc.reason}") from exc
    checksum = sha256_hex(data)
    existing = Asset.objects.filter(kind=kind, checksum=checksum).first()
    if existing:
        return existing
    extension = "png" if img.mode == "RGBA" else "jpg"
    with transaction.atomic():
        asset = Asset(
            name=name,
            kind=kind,
            width=img.width,
            height=img.height,
            checksum=checksum,
            brand=brand,
            uploaded_by=uploaded_by,
        )
        asset.file.save(content_addressed_name("assets", data, extension), ContentFile(data), save=False)
        asset.full_clean()
        asset.save()
    return asset


def brand_upsert(
    *,
    name: str,
    primary_colour: str,
    accent_colour: str,
    text_colour: str = "#1a1a1a",
    logo: Asset | None = None,
    title_font: Font | None = None,
    body_font: Font | None = None,
) -> Brand:
    brand = Brand.objects.filter(name=name).first() or Brand(name=name)
    brand.primary_colour = primary_colour
    brand.accent_colour = accent_colour
    brand.text_colour = text_colour
    brand.logo = logo
    brand.title_font = title_font
    brand.body_font = body_font
    brand.full_clean()
    brand.save()
    return brand
