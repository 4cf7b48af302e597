"""Writes for design material: fonts registered, assets and footage stored, brands upserted.

Every upload is read in chunks within CREATIVE_MAX_FILE_BYTES and checked (decoded, probed)
before anything is stored; images are stored re-encoded from their pixels, never as sent."""

import hashlib
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction

from creativeadmin.errors import full_clean_or_raise
from creativeadmin.storage_paths import content_addressed_name, digest_name, sha256_hex, stored_once
from synthesis.errors import FontNotFound, ImageRejected
from synthesis.ffmpeg import VideoError, probe
from synthesis.fonts import font_face_from_file
from synthesis.images import image_extension, load_image

from ..errors import UploadRejected
from ..models import Asset, Brand, Font

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
    full_clean_or_raise(row, exclude=["file"], error=UploadRejected, label=label, code="invalid_fields")


def _footage_upload(data: Upload, name: str):
    return _upload_on_disk(data, limit=settings.CREATIVE_MAX_FOOTAGE_BYTES, label=name, code="footage_too_large")


def _footage_probe(upload: _UploadOnDisk, name: str):

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
