"""Writes for design material: registering fonts, storing assets, upserting brands."""

import hashlib
import io
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction

from creativeadmin.errors import ConflictError
from creativeadmin.storage_paths import content_addressed_name, digest_name, sha256_hex, stored_once
from synthesis.errors import FontNotFound, ImageRejected
from synthesis.fonts import font_face_from_file
from synthesis.images import image_extension, load_image

from .errors import PreviewRejected, TemplateRejected, UploadRejected
from .models import Asset, Brand, Font, Template, TemplateVersion

FONT_EXTENSIONS = {".ttf", ".otf", ".ttc"}
# What a font file really is, from its first four bytes; the stored extension comes from here.
FONT_SIGNATURES = {b"\x00\x01\x00\x00": ".ttf", b"true": ".ttf", b"OTTO": ".otf", b"ttcf": ".ttc"}
UPLOAD_CHUNK_BYTES = 1024 * 1024


# An upload as the services take it: its bytes, or a file (Django's UploadedFile, any binary file) read in chunks.
Upload = bytes | IO[bytes]


@dataclass(frozen=True)
class _UploadOnDisk:
    path: Path
    size: int
    sha256: str

    def head(self, n: int) -> bytes:
        with open(self.path, "rb") as fh:
            return fh.read(n)


def _megabytes(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n:,} bytes"


@contextmanager
def _upload_on_disk(source: Upload, *, limit: int, label: str, code: str) -> Iterator[_UploadOnDisk]:
    """`source` as a file on disk with its size and SHA-256, never held in memory whole.

    Read in chunks of UPLOAD_CHUNK_BYTES with the size checked as it is read: UploadRejected (`code`)
    as soon as it passes `limit`, so nothing past the limit is read (a size the upload declares is
    checked before anything). An upload Django already streamed to a temporary file is used where
    it lies; anything else is copied to one of ours, removed on leaving.
    """

    def too_large() -> UploadRejected:
        return UploadRejected(
            f"{label} is larger than the limit of {_megabytes(limit)}.", code=code, extra={"max_bytes": limit}
        )

    declared = len(source) if isinstance(source, bytes | bytearray) else getattr(source, "size", None)
    if declared is not None and declared > limit:
        raise too_large()
    file = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    if hasattr(file, "seek") and (not hasattr(file, "seekable") or file.seekable()):
        file.seek(0)
    digest, size = hashlib.sha256(), 0
    if hasattr(file, "temporary_file_path"):  # TemporaryUploadedFile: counted by Django as it arrived
        path = Path(file.temporary_file_path())
        with open(path, "rb") as fh:
            while chunk := fh.read(UPLOAD_CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise too_large()
                digest.update(chunk)
        yield _UploadOnDisk(path, size, digest.hexdigest())
        return
    with tempfile.NamedTemporaryFile(prefix="upload-", dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
        while chunk := file.read(UPLOAD_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise too_large()
            digest.update(chunk)
            tmp.write(chunk)
        tmp.flush()
        yield _UploadOnDisk(Path(tmp.name), size, digest.hexdigest())


def _font_upload(data: Upload, filename: str):
    return _upload_on_disk(data, limit=settings.CREATIVE_MAX_FILE_BYTES, label=filename, code="font_too_large")


def font_check(*, family: str, data: Upload, filename: str, face_index: int = 0, **_) -> None:
    """Raise UploadRejected unless `data` is a font file within CREATIVE_MAX_FILE_BYTES that loads and renders."""
    with _font_upload(data, filename) as upload:
        _font_extension(upload.head(4), filename)
        _font_face(family, upload, face_index, filename)


def _font_extension(head: bytes, filename: str) -> str:
    """The extension the font is stored under, read from its signature (the client's name only gates it)."""
    if Path(filename).suffix.lower() not in FONT_EXTENSIONS:
        raise UploadRejected(f"{filename}: fonts must be .ttf, .otf or .ttc.", code="font_format")
    extension = FONT_SIGNATURES.get(head[:4])
    if extension is None:
        raise UploadRejected(
            f"{filename} is not a usable font: it is not a TrueType, OpenType or collection file.",
            code="font_unreadable",
        )
    return extension


def _font_face(family: str, upload: _UploadOnDisk, face_index: int, filename: str):
    """The engine's FontFace for the upload; UploadRejected naming the uploaded file if it does not load.

    The engine only sees the file on disk (Django's temporary file or our copy), so its FontNotFound
    names that path: the message says the uploaded file's name instead (a temporary path means nothing
    to the designer, and says where the server keeps its files).
    """
    try:
        return font_face_from_file(family, upload.path, face_index)
    except FontNotFound as exc:
        reason = str(exc).replace(str(upload.path), filename).replace(upload.path.name, filename)
        if filename not in reason:
            reason = f"{filename} is not a usable font: {reason}"
        raise UploadRejected(reason, code="font_unreadable") from exc


def font_register(
    *, family: str, data: Upload, filename: str, weight: int = 400, style: str = Font.Style.NORMAL, face_index: int = 0
) -> Font:
    """Store a font after proving it loads and renders; reports whether it covers CJK.

    Idempotent on (family, weight, style): registering the same face again returns it. The row is
    validated before the file is written, so a refused font leaves nothing in storage. The file is
    read in chunks, never whole into memory (UploadRejected past CREATIVE_MAX_FILE_BYTES).
    """
    with _font_upload(data, filename) as upload:
        extension = _font_extension(upload.head(4), filename)
        face = _font_face(family, upload, face_index, filename)
        existing = Font.objects.filter(family=family, weight=weight, style=style).first()
        if existing:
            return existing
        font = Font(
            family=family,
            weight=weight,
            style=style,
            face_index=face_index,
            covers_cjk=face.covers_cjk,
            checksum=upload.sha256,
        )
        _full_clean_before_storing(font, label=filename)
        with open(upload.path, "rb") as fh:
            font.file.name, _ = stored_once(font.file.storage, digest_name("fonts", upload.sha256, extension), File(fh))
        font.save()
    return font


def _full_clean_before_storing(row: Font | Asset, *, label: str) -> None:
    """Every field but the file checked, so a refused row never leaves a file in storage."""
    try:
        row.full_clean(exclude=["file"])
    except ValidationError as exc:
        raise UploadRejected(
            f"{label}: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()),
            code="invalid_fields",
            extra={"fields": exc.message_dict},
        ) from exc


def _footage_upload(data: Upload, name: str):
    return _upload_on_disk(data, limit=settings.CREATIVE_MAX_FOOTAGE_BYTES, label=name, code="footage_too_large")


def _footage_probe(upload: _UploadOnDisk, name: str):
    from synthesis.ffmpeg import VideoError, probe

    try:
        info = probe(upload.path, timeout=30, label=name)
    except VideoError as exc:
        raise UploadRejected(str(exc), code=exc.code) from exc
    if "mp4" not in info.container.split(","):
        raise UploadRejected(f"{name}: footage must be MP4 or MOV (this is {info.container}).", code="footage_format")
    return info


def footage_check(*, name: str, data: Upload, **_):
    """Probe uploaded footage; UploadRejected unless it is an MP4/MOV with a video stream, within limits.

    The upload is read in chunks to a file for ffmpeg, its size checked as it is read.
    """
    with _footage_upload(data, name) as upload:
        return _footage_probe(upload, name)


def _image_bytes(data: Upload, name: str) -> bytes:
    """An image upload's bytes for decoding, read in chunks up to CREATIVE_MAX_FILE_BYTES (UploadRejected past it)."""
    if isinstance(data, bytes | bytearray) and len(data) <= settings.CREATIVE_MAX_FILE_BYTES:
        return bytes(data)
    with _upload_on_disk(data, limit=settings.CREATIVE_MAX_FILE_BYTES, label=name, code="image_too_large") as upload:
        return upload.path.read_bytes()


def asset_check(*, name: str, data: Upload, kind: str = "", **_):
    """The decoded image (or footage's media info), or UploadRejected for bombs, corrupt files, bad formats."""
    if kind == Asset.Kind.FOOTAGE:
        return footage_check(name=name, data=data)
    return _asset_image(_image_bytes(data, name), name)


def _asset_image(data: bytes, name: str):
    try:
        return load_image(data, max_pixels=settings.CREATIVE_MAX_IMAGE_PIXELS)
    except ImageRejected as exc:
        raise UploadRejected(f"{name}: {exc}", code=f"image_{exc.reason}") from exc


def asset_create(*, name: str, kind: str, data: Upload, brand: Brand | None = None, uploaded_by=None) -> Asset:
    """Validate an asset (images: bombs, corrupt files, formats; footage: a probe) and store it once per content.

    Images are stored re-encoded from their decoded pixels (see image_file_reencoded), never as
    sent. `checksum` is the SHA-256 of what is stored, so uploads that differ only in what the
    re-encoding drops (metadata, appended bytes) are one asset and one file. The row is validated
    before the file is written, so a refused asset leaves nothing in storage. Footage is read in
    chunks to a file and stored from it as is, never whole in memory.
    """
    if kind == Asset.Kind.FOOTAGE:
        with _footage_upload(data, name) as upload:
            info = _footage_probe(upload, name)
            existing = Asset.objects.filter(kind=kind, checksum=upload.sha256).first()
            if existing:
                return existing
            with open(upload.path, "rb") as fh:
                return _asset_store(
                    name=name, kind=kind, checksum=upload.sha256, checked=info, duration=info.duration,
                    file_name=digest_name("assets", upload.sha256, "mp4"), content=File(fh),
                    brand=brand, uploaded_by=uploaded_by,
                )  # fmt: skip
    data = _image_bytes(data, name)
    checked = _asset_image(data, name)
    stored, extension = image_file_reencoded(checked, source_extension=image_extension(data))
    checksum = sha256_hex(stored)
    existing = Asset.objects.filter(kind=kind, checksum=checksum).first()
    if existing:
        return existing
    return _asset_store(
        name=name, kind=kind, checksum=checksum, checked=checked, duration=None,
        file_name=content_addressed_name("assets", stored, extension), content=ContentFile(stored),
        brand=brand, uploaded_by=uploaded_by,
    )  # fmt: skip


def _asset_store(
    *, name: str, kind: str, checksum: str, checked, duration, file_name: str, content: File, brand, uploaded_by
) -> Asset:
    with transaction.atomic():
        asset = Asset(
            name=name,
            kind=kind,
            width=checked.width,
            height=checked.height,
            duration=duration,
            checksum=checksum,
            brand=brand,
            uploaded_by=uploaded_by,
        )
        _full_clean_before_storing(asset, label=name[:80])
        asset.file.name, _ = stored_once(asset.file.storage, file_name, content)
        asset.save()
    return asset


def image_file_reencoded(image, *, source_extension: str) -> tuple[bytes, str]:
    """(bytes, extension) of a decoded image as it is stored: a JPEG stays a JPEG, anything else becomes a PNG.

    The one way uploaded images (assets, products' main images) are stored. The same pixels give the same
    bytes, so a content-addressed name stores them once.

    Re-encoding from pixels drops whatever rode along with them: HTML or script appended after
    the image's end or hidden in text chunks (a PNG+HTML polyglot), EXIF, XMP and ICC metadata
    (the engine ignores profiles; orientation is already applied by load_image). The extension
    is the encoder's, never the client's file name.
    """
    buf = io.BytesIO()
    if source_extension == "jpg":
        image.save(buf, format="JPEG", quality=95, subsampling="4:4:4")
        return buf.getvalue(), "jpg"
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue(), "png"


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


def template_spec_check(*, spec: dict, name: str) -> None:
    """Raise TemplateRejected (with every problem in extra["errors"]) unless the spec is valid."""
    _validated_spec(spec, name=name)


def _validated_spec(spec: dict, *, name: str):
    from synthesis.spec import TemplateSpecError, parse_template
    from synthesis.video_spec import parse_video_template

    spec = {**spec, "name": name}
    try:
        parsed = parse_video_template(spec) if spec.get("kind") == "video" else parse_template(spec)
    except TemplateSpecError as exc:
        raise TemplateRejected(str(exc), extra={"errors": exc.errors}) from exc
    return spec, parsed


@transaction.atomic
def template_create(*, name: str, spec: dict, owner=None, brand: Brand | None = None) -> Template:
    """A new draft template with its spec as version 1 (the spec is validated first)."""
    spec, parsed = _validated_spec(spec, name=name)
    template = Template(
        name=name,
        kind=parsed.kind,
        tags=list(parsed.tags),
        owner=owner,
        brand=brand,
        products_min=parsed.products_min,
        products_max=parsed.products_max,
        shapes=list(getattr(parsed, "shapes", ())),
    )
    template.full_clean()
    template.save()
    _add_version(template=template, spec=spec, parsed=parsed, saved_by=owner, note="created")
    return template


def _add_version(*, template: Template, spec: dict, parsed, saved_by, note: str) -> TemplateVersion:
    last = template.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = TemplateVersion.objects.create(
        template=template, number=last + 1, spec=spec, saved_by=saved_by, note=note[:200]
    )
    template.current_version = version
    template.tags = list(parsed.tags)
    template.products_min, template.products_max = parsed.products_min, parsed.products_max
    template.shapes = list(getattr(parsed, "shapes", ()))
    template.save(update_fields=["current_version", "tags", "products_min", "products_max", "shapes", "updated_at"])
    return version


@transaction.atomic
def template_version_save(*, template: Template, spec: dict, saved_by=None, note: str = "") -> TemplateVersion:
    """Every save is a new immutable version; campaigns keep the versions they used."""
    template = Template.objects.select_for_update().get(pk=template.pk)
    spec, parsed = _validated_spec(spec, name=template.name)
    return _add_version(template=template, spec=spec, parsed=parsed, saved_by=saved_by, note=note)


@transaction.atomic
def template_version_restore(*, version: TemplateVersion, restored_by=None) -> TemplateVersion:
    """Restoring an older version saves its spec again as the newest version."""
    template = Template.objects.select_for_update().get(pk=version.template_id)
    spec, parsed = _validated_spec(version.spec, name=template.name)
    return _add_version(
        template=template, spec=spec, parsed=parsed, saved_by=restored_by, note=f"restored v{version.number}"
    )


SHEET_SIZES = ((1080, 1080), (1080, 1920), (1200, 628), (1080, 1350), (300, 250), (728, 90), (320, 50))
SHEET_COPY = {
    "title": "冬季新品 轻暖一整季 限时直降",
    "subtitle": "90% 白鹅绒 · -20°C 保暖",
    "price": "¥599",
    "badge": "限时",
}


@dataclass(frozen=True)
class SheetCell:
    size: tuple[int, int]
    products: int
    image: bytes  # JPEG
    score: float
    violations: tuple[str, ...]


def template_preview_sheet(*, version: TemplateVersion) -> list[SheetCell]:
    """The version rendered at every sheet size, with its fewest and most products (sample photos):
    the best of a few variations each, as candidate search would pick, with its hard-check failures.

    The whole sheet has TEMPLATE_SHEET_SECONDS: past them the work stops and PreviewRejected
    (code time_budget_exceeded) is raised, so a costly template never keeps a core busy for long.
    """
    from synthesis.errors import TimeBudgetExceeded
    from synthesis.layout import aspect_class
    from synthesis.product import product_theme_colours
    from synthesis.render import AdCopy
    from synthesis.search import search_creatives
    from synthesis.spec import parse_template

    from .engine import asset_images, font_registry, sample_products

    deadline = time.monotonic() + settings.TEMPLATE_SHEET_SECONDS
    template = parse_template(version.spec)
    counts = sorted({max(1, template.products_min), max(1, template.products_max)})
    sizes = [size for size in SHEET_SIZES if aspect_class(*size) in template.shapes]
    cells = []
    for count in counts:
        products = sample_products()[:count]
        try:
            result = search_creatives(
                [template],
                products,
                [AdCopy(**SHEET_COPY)],
                sizes,
                theme=product_theme_colours(products[0].image),
                fonts=font_registry(),
                assets=asset_images(),
                n=4,
                top_k=1,
                deadline=deadline,
            )
        except TimeBudgetExceeded as exc:
            raise _over_budget("The preview sheet", settings.TEMPLATE_SHEET_SECONDS) from exc
        for creative in result.creatives:
            cells.append(
                SheetCell(
                    creative.size, count, creative.rendered.encode(quality=80), creative.score.total,
                    tuple(creative.score.violations),
                )
            )  # fmt: skip
    return cells


_sheet_checked: dict[str, list[str]] = {}  # spec and assets fingerprint -> errors, for this process


def _sheet_errors(version: TemplateVersion) -> list[str]:
    """Hard errors in the version's preview sheet; the same spec with the same assets is checked once."""
    import json

    from django.db.models import Count, Max

    assets = Asset.objects.aggregate(n=Count("pk"), latest=Max("created_at"))
    key = json.dumps([version.spec, assets["n"], str(assets["latest"])], sort_keys=True)
    if key not in _sheet_checked:
        _sheet_checked[key] = [
            f"{c.size[0]}x{c.size[1]} with {c.products} product(s): {v}"
            for c in template_preview_sheet(version=version)
            for v in c.violations
        ]
    return _sheet_checked[key]


def template_publish(*, template: Template) -> Template:
    """Publish the current version; an image template must render with no hard error at every sheet size."""
    if template.current_version is None:
        raise TemplateRejected("A template needs a saved version before it can be published.", code="no_version")
    if template.kind == Template.Kind.IMAGE:
        try:
            errors = _sheet_errors(template.current_version)
        except PreviewRejected as exc:
            raise TemplateRejected(f"{template.name} cannot be published: {exc.message}", code=exc.code) from exc
        if errors:
            raise TemplateRejected(
                f"{template.name} cannot be published: {len(errors)} hard error(s) in its preview sheet "
                f"(first: {errors[0]}).",
                code="sheet_errors",
                extra={"errors": errors},
            )
    template.status = Template.Status.PUBLISHED
    template.save(update_fields=["status", "updated_at"])
    return template


def template_archive(*, template: Template) -> Template:
    template.status = Template.Status.ARCHIVED
    template.save(update_fields=["status", "updated_at"])
    return template


def template_duplicate(*, template: Template, name: str | None = None, owner=None) -> Template:
    """A new draft from the template's current version; `name` defaults to "<name> (copy)", "(copy 2)"..."""
    if template.current_version is None:
        raise TemplateRejected("Only a template with a saved version can be duplicated.", code="no_version")
    if name is None:
        name, n = f"{template.name} (copy)", 1
        while Template.objects.filter(name=name).exists():
            n += 1
            name = f"{template.name} (copy {n})"
    return template_create(name=name, spec=template.current_version.spec, owner=owner, brand=template.brand)


def template_import_psd(*, name: str, data: bytes, owner=None, brand: Brand | None = None):
    """A new draft template from a layered PSD, with its assets; returns (template, report).

    The report (templates_app.psd_import.PsdImport) lists what was imported and what could not be
    mapped, with reasons. The assets and the template land together or not at all: on any failure
    the rows are rolled back and the files this call wrote are removed (assets are content-addressed,
    so a file another asset still uses is kept). Raises UploadRejected for a file over the limits,
    damaged or not a PSD, and TemplateRejected when the result is not a valid template.
    """
    from django.core.files.storage import default_storage
    from django.db.models import Max

    from .psd_import import PsdLimits, psd_template, spec_with_asset_names

    if Template.objects.filter(name=name).exists():
        raise TemplateRejected(f"A template named {name!r} already exists.", code="duplicate_name")
    brand_colours = (
        {"primary": brand.primary_colour, "accent": brand.accent_colour, "text": brand.text_colour} if brand else None
    )
    result = psd_template(data, name=name, limits=PsdLimits.from_settings(), brand_colours=brand_colours)
    written: list[str] = []
    try:
        with transaction.atomic():
            renames = {}
            before = Asset.objects.aggregate(latest=Max("pk"))["latest"] or 0
            for item in result.assets:
                asset = asset_create(name=item.name, kind=item.kind, data=item.data, brand=brand, uploaded_by=owner)
                if asset.pk > before and asset.file.name not in written:  # made here, not an identical earlier one
                    written.append(asset.file.name)
                renames[item.name] = asset.name
            try:
                template = template_create(
                    name=name, spec=spec_with_asset_names(result.spec, renames), owner=owner, brand=brand
                )
            except ValidationError as exc:
                raise TemplateRejected(
                    "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()), code="invalid_fields"
                ) from exc
    except BaseException:
        for file_name in written:
            if not Asset.objects.filter(file=file_name).exists():
                default_storage.delete(file_name)
        raise
    return template, result


def _over_budget(what: str, seconds: float) -> PreviewRejected:
    return PreviewRejected(
        f"{what} took more than its {seconds:g} s and was stopped: simplify the template (fewer layers).",
        code="time_budget_exceeded",
        extra={"seconds": seconds},
    )


def template_preview(
    *, version: TemplateVersion, size: tuple[int, int], products: list, copy: dict, seed: int = 0
) -> dict:
    """Render a version with sample or real products: the best of a few variations, scored.

    `products` are campaigns.Product rows (their main images are prepared by the engine).
    Returns {"image": JPEG bytes, "score": ..., "components": {...}, "violations": [...]}.
    PreviewRejected (code time_budget_exceeded) past TEMPLATE_PREVIEW_SECONDS.
    """
    from synthesis.errors import SynthesisError, TimeBudgetExceeded
    from synthesis.product import product_theme_colours
    from synthesis.render import AdCopy
    from synthesis.search import search_creatives
    from synthesis.spec import parse_template

    from .engine import asset_images, font_registry, prepared_product

    deadline = time.monotonic() + settings.TEMPLATE_PREVIEW_SECONDS
    width, height = size
    if not (50 <= width <= 2160 and 50 <= height <= 2160):
        raise PreviewRejected(f"Preview size {width}x{height} is outside 50..2160 pixels.", code="bad_size")
    template = parse_template(version.spec)
    if not template.products_min <= len(products) <= template.products_max:
        raise PreviewRejected(
            f"This template lays out {template.products_min}-{template.products_max} products, not {len(products)}.",
            code="product_count",
        )
    try:
        prepared = [prepared_product(product.main_image.name) for product in products]
        theme = product_theme_colours(prepared[0].image)
        ad_copy = AdCopy(**{k: str(copy.get(k, "")) for k in ("title", "subtitle", "price", "badge")})
        result = search_creatives(
            [template],
            prepared,
            [ad_copy],
            [size],
            theme=theme,
            fonts=font_registry(),
            assets=asset_images(),
            n=8,
            top_k=1,
            seed=seed,
            deadline=deadline,
        )
    except TimeBudgetExceeded as exc:
        raise _over_budget("The preview", settings.TEMPLATE_PREVIEW_SECONDS) from exc
    except SynthesisError as exc:
        raise PreviewRejected(str(exc), code=exc.code) from exc
    creative = result.creatives[0]
    return {
        "image": creative.rendered.encode(),
        "score": creative.score.total,
        "components": dict(creative.score.components),
        "violations": list(creative.score.violations),
        "warnings": list(creative.rendered.warnings),
    }


RENDER_TOKEN_SALT = "templates_app.render"


def render_token_make(
    *, version: TemplateVersion, size: tuple[int, int], product_skus: list[str], copy: dict, seed: int = 0
) -> str:
    """A signed token for `GET /r/<token>.jpg`: the server renders only what was signed here.

    Django's signing (HMAC-SHA256 with SECRET_KEY and a salt of its own) covers the template
    version, the size, the products and the copy, so an edited token is refused.
    """
    from django.core import signing

    payload = {
        "v": version.pk,
        "s": [int(size[0]), int(size[1])],
        "p": list(product_skus),
        "c": {k: str(copy.get(k, "")) for k in ("title", "subtitle", "price", "badge") if copy.get(k)},
        "seed": int(seed),
    }
    return signing.dumps(payload, salt=RENDER_TOKEN_SALT, compress=True)


def render_by_token(*, token: str) -> tuple[bytes, bool]:
    """(JPEG bytes, served_from_storage) for a signed token; the first render is stored by content hash.

    Raises PreviewRejected (code bad_signature) for a forged or edited token.
    """
    import hashlib
    import json

    from django.core import signing
    from django.core.files.storage import default_storage

    from campaigns.selectors import product_list_by_skus
    from synthesis import __version__ as engine_version

    try:
        payload = signing.loads(token, salt=RENDER_TOKEN_SALT)
    except signing.BadSignature as exc:
        raise PreviewRejected("This render link is not valid (bad signature).", code="bad_signature") from exc
    version = TemplateVersion.objects.filter(pk=payload["v"]).first()
    if version is None:
        raise PreviewRejected("The template version of this link no longer exists.", code="not_found")
    key_material = json.dumps({**payload, "engine": engine_version, "spec": version.spec}, sort_keys=True)
    name = f"renders/{hashlib.sha256(key_material.encode()).hexdigest()}.jpg"
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as fh:
            return fh.read(), True
    products = list(product_list_by_skus(skus=payload["p"]))
    if len(products) != len(payload["p"]):
        raise PreviewRejected("A product of this link no longer exists.", code="not_found")
    preview = template_preview(
        version=version, size=tuple(payload["s"]), products=products, copy=payload["c"], seed=payload["seed"]
    )
    if not default_storage.exists(name):  # two first requests may race; the content is the same
        default_storage.save(name, ContentFile(preview["image"]))
    return preview["image"], False


# The editor's preview sizes: the shapes designers are asked for most, one per aspect class at least.
EDITOR_SIZES = (
    (1080, 1080, "1:1"), (1080, 1920, "9:16"), (1920, 1080, "16:9"), (1080, 1350, "4:5"), (1200, 628, "link ad"),
    (300, 250, "MPU"), (728, 90, "leaderboard"), (320, 50, "mobile banner"),
)  # fmt: skip


def template_design_preview(*, spec: dict, name: str, size: tuple[int, int], product_count: int, copy: dict) -> dict:
    """An unsaved spec as the editor shows it: rendered as designed with sample products, scored.

    Raises TemplateRejected (every spec problem in extra["errors"]) or PreviewRejected. Returns the
    JPEG, the score and its components, the hard-check violations, the renderer's warnings and the
    pixel box of every laid-out layer, so the editor draws its handles where the engine drew them.
    The render and its score have TEMPLATE_PREVIEW_SECONDS (PreviewRejected, code time_budget_exceeded).
    """
    from synthesis.errors import SynthesisError, TimeBudgetExceeded
    from synthesis.product import product_theme_colours
    from synthesis.render import AdCopy
    from synthesis.search import design_preview

    from .engine import asset_images, font_registry, sample_products

    deadline = time.monotonic() + settings.TEMPLATE_PREVIEW_SECONDS
    spec, parsed = _validated_spec(spec, name=name)
    if parsed.kind != Template.Kind.IMAGE:
        raise PreviewRejected("The visual editor edits image templates.", code="not_image")
    width, height = size
    if not (50 <= width <= 2160 and 50 <= height <= 2160):
        raise PreviewRejected(f"Preview size {width}x{height} is outside 50..2160 pixels.", code="bad_size")
    if not (max(1, parsed.products_min) <= product_count <= max(1, parsed.products_max)):
        raise PreviewRejected(
            f"This template lays out {parsed.products_min}-{parsed.products_max} products, not {product_count}.",
            code="product_count",
        )
    products = sample_products()[:product_count] if parsed.products_max else ()
    try:
        rendered, score = design_preview(
            parsed,
            size,
            products=products,
            copy=AdCopy(**{k: str(copy.get(k, "")) for k in ("title", "subtitle", "price", "badge")}),
            theme=product_theme_colours((products or sample_products())[0].image),
            fonts=font_registry(),
            assets=asset_images(),
            deadline=deadline,
        )
    except TimeBudgetExceeded as exc:
        raise _over_budget("The preview", settings.TEMPLATE_PREVIEW_SECONDS) from exc
    except SynthesisError as exc:
        raise PreviewRejected(str(exc), code=exc.code) from exc
    return {
        "image": rendered.encode(quality=85),
        "score": score.total,
        "components": dict(score.components),
        "violations": list(score.violations),
        "warnings": list(rendered.warnings),
        "aspect_class": rendered.layout.aspect_class,
        "shape_supported": rendered.layout.aspect_class in parsed.shapes,
        "layout": {layer_id: list(box) for layer_id, box in rendered.layout.boxes.items()},
    }


@transaction.atomic
def template_editor_save(
    *, template: Template, spec: dict, base_version: int | None, saved_by=None, note: str = ""
) -> TemplateVersion | None:
    """Save the editor's spec as a new version; None when it equals the current one.

    ConflictError when someone saved a version since the editor loaded `base_version`, so
    nobody's work is silently overwritten.
    """
    template = Template.objects.select_for_update().get(pk=template.pk)
    current = template.current_version
    if current is not None and base_version != current.number:
        raise ConflictError(
            f"Version {current.number} was saved since you opened version {base_version}; reload to see it.",
            code="version_conflict",
            extra={"current_version": current.number},
        )
    if current is not None and current.spec == {**spec, "name": template.name}:
        return None
    return template_version_save(
        template=template, spec=spec, saved_by=saved_by, note=note or "edited in the visual editor"
    )
