"""Safe image loading: every image the engine touches comes in through `load_image`.

It checks the declared size before decoding (decompression bombs), decodes large JPEGs in
draft mode so a 6000x4000 photo costs little, honours EXIF orientation, converts a photo tagged with
another colour space (Display P3 from a phone, Adobe RGB from a camera, a CMYK press profile) to
sRGB through its embedded ICC profile, as a browser shows it, and normalises CMYK, palette and
greyscale images (16-bit ones too) to RGB or RGBA. Failures raise `ImageRejected` with a `reason`
code a caller can show or act on.
"""

from __future__ import annotations

import functools
import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import ImageRejected

DEFAULT_MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
# What Pillow's readers raise on a damaged or hostile file besides OSError (found by fuzzing, see
# tests/security/test_validator_fuzz.py): e.g. ValueError for a truncated PNG header, EOFError, struct.error.
DAMAGED = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, struct.error)


def load_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_size: tuple[int, int] | None = None,
    allowed_formats: frozenset[str] = ALLOWED_FORMATS,
) -> Image.Image:
    """Decode `data` into an RGB or RGBA image, upright, fully loaded.

    `draft_size` lets JPEG decoding scale down by 1/2, 1/4 or 1/8 while decoding, keeping
    at least that size. Raises ImageRejected (reason: empty, unreadable, format,
    too_large, too_small, corrupt).
    """
    img = _open(data, allowed_formats)
    if img.format not in allowed_formats:
        raise ImageRejected(
            f"Image format {img.format} is not allowed (allowed: {', '.join(sorted(allowed_formats))}).",
            reason="format",
        )
    width, height = img.size
    if width * height > max_pixels:
        raise ImageRejected(
            f"Image is {width}x{height} = {width * height:,} pixels, over the limit of {max_pixels:,}.",
            reason="too_large",
        )
    if width < 2 or height < 2:
        raise ImageRejected(f"Image is {width}x{height}; at least 2x2 pixels are needed.", reason="too_small")
    if draft_size and img.format == "JPEG":
        img.draft("RGB", draft_size)
    try:
        img.load()
        return _normalise_mode(ImageOps.exif_transpose(img))
    except DAMAGED as exc:
        # Pillow's wording ("image file is truncated (12 bytes not processed)", "broken data stream when
        # reading image file") is for programmers; the operator needs to know what to do about it.
        raise ImageRejected(
            f"The {img.format} file is damaged: its data ends early or is broken, so its pixels cannot be read. "
            "Export it again from the original and upload the new file.",
            reason="corrupt",
        ) from exc


def _open(data: bytes, allowed_formats: frozenset[str] = ALLOWED_FORMATS) -> Image.Image:
    """The image's header read (nothing decoded yet), or ImageRejected (reason: empty, unreadable, too_large)."""
    if not data:
        raise ImageRejected("The image is empty (0 bytes).", reason="empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise ImageRejected(
            f"Not a readable image: unknown or damaged format (allowed: {', '.join(sorted(allowed_formats))}).",
            reason="unreadable",
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own ceiling (header checked, nothing decoded): the same refusal as load_image's limit.
        raise ImageRejected(f"Not a readable image: {exc}", reason="too_large") from exc
    except DAMAGED as exc:
        raise ImageRejected(f"Not a readable image: {exc}", reason="unreadable") from exc


def _normalise_mode(img: Image.Image) -> Image.Image:
    img = _in_srgb(img)
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if img.mode == "CMYK":
        # No ICC profile to go by (see _in_srgb): Pillow's plain conversion, good enough for product shots.
        return img.convert("RGB")
    if has_alpha:
        return img.convert("RGBA")
    if img.mode.startswith("I"):
        # A 16-bit greyscale PNG: Pillow's own conversion clips every level above 255 to white.
        levels = np.asarray(img, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(np.rint(levels), 0, 255).astype(np.uint8)).convert("RGB")
    if img.mode != "RGB":
        return img.convert("RGB")
    return img


def _in_srgb(img: Image.Image) -> Image.Image:
    """`img` in sRGB when it carries an ICC profile of another colour space; else `img` unchanged.

    Read without its profile, a Display P3 or Adobe RGB photo looks duller than it does in a
    browser and a CMYK one takes the wrong hues, so the theme colour and every render would be off.
    A profile that cannot be read is ignored: the pixels are then taken as sRGB, as before.
    """
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    transform = _to_srgb_transform(bytes(icc), img.mode)
    if transform is None:
        return img
    return ImageCms.applyTransform(img, transform)


@functools.lru_cache(maxsize=8)
def _to_srgb_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform from the profile `icc` to sRGB (None for an sRGB profile or one that cannot be read)."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if mode != "CMYK" and "srgb" in ImageCms.getProfileDescription(source).lower():
            return None  # already sRGB: converting would only add rounding
        return ImageCms.buildTransform(
            source, ImageCms.createProfile("sRGB"), mode, "RGBA" if mode == "RGBA" else "RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header alone (no pixel decoding)."""
    with _open(data) as img:
        return img.size


EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


def image_extension(data: bytes) -> str:
    """The file extension of what the bytes really are (from the header, never a client's file name)."""
    with _open(data) as img:
        image_format = img.format
    if image_format not in EXTENSIONS:
        raise ImageRejected(f"Image format {image_format} is not allowed.", reason="format")
    return EXTENSIONS[image_format]
