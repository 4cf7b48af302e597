"""Product preparation: cut a product out of its studio backdrop, trim it, find its colours.

The common e-commerce main image is a product on a plain light backdrop. The backdrop
colour is read from the image border; pixels close to it (in CIELAB) become transparent
with a soft edge, holes inside the product (a white label) are kept, and the result is
trimmed. Images that already carry transparency keep it; images without a plain backdrop
are used whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from .colour import RGB, ThemeColours, srgb_to_lab, theme_colours
from .errors import ImageRejected
from .images import DEFAULT_MAX_PIXELS, load_image

_BORDER = 0.03


@dataclass(frozen=True)
class PreparedProduct:
    image: Image.Image  # RGBA, trimmed to the product with a small transparent pad
    source_size: tuple[int, int]
    cut_out: bool  # True when a studio backdrop was removed
    background_rgb: RGB | None
    source_scale: float = 1.0  # prepared pixels per source pixel (< 1 when reduced)


def _border_pixels(lab: np.ndarray) -> np.ndarray:
    h, w = lab.shape[:2]
    b = max(1, round(min(h, w) * _BORDER))
    return np.concatenate(
        [lab[:b].reshape(-1, 3), lab[-b:].reshape(-1, 3), lab[:, :b].reshape(-1, 3), lab[:, -b:].reshape(-1, 3)]
    )


def foreground_alpha(rgb: np.ndarray) -> np.ndarray | None:
    """Soft foreground alpha (H, W) in [0, 1] for a product on a plain light backdrop, else None.

    The backdrop is the median border colour; it counts as plain and light when its
    lightness is >= 70 and 90% of border pixels lie within dE 12 of it. Alpha ramps from 0
    to 1 between distances t0 and t0 + 14 (t0 just above the border's own spread, so soft
    shadows and paper texture stay background); enclosed holes are filled.
    """
    lab = srgb_to_lab(rgb).astype(np.float32)
    border = _border_pixels(lab)
    bg = np.median(border, axis=0)
    bdiff = border - bg
    border_dist = np.sqrt(0.25 * bdiff[:, 0] ** 2 + bdiff[:, 1] ** 2 + bdiff[:, 2] ** 2)
    spread = float(np.percentile(border_dist, 90))
    if bg[0] < 70 or spread > 12:
        return None
    # Lightness counts half: soft grey shadows differ from the backdrop mostly in lightness.
    diff = lab - bg
    dist = np.sqrt(0.25 * diff[..., 0] ** 2 + diff[..., 1] ** 2 + diff[..., 2] ** 2)
    t0 = max(8.0, spread * 1.5 + 4.0)
    t = np.clip((dist - t0) / 14.0, 0.0, 1.0)
    alpha = t * t * (3 - 2 * t)
    solid = ndimage.binary_fill_holes(alpha > 0.5)
    alpha = np.where(solid & (alpha < 1.0), np.maximum(alpha, solid.astype(np.float32)), alpha)
    return alpha.astype(np.float32)


def _has_meaningful_alpha(img: Image.Image) -> bool:
    if img.mode != "RGBA":
        return False
    lo, hi = img.getchannel("A").getextrema()
    return lo < 250


def prepare_product(image: Image.Image, *, max_side: int = 1200) -> PreparedProduct:
    """RGBA cut-out of a product photo; raises ImageRejected(reason="empty") if no product is left."""
    source_size = image.size
    scale = 1.0
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BILINEAR)
    background: RGB | None = None
    if _has_meaningful_alpha(image):
        rgba, cut = image.convert("RGBA"), False
    else:
        rgb = np.asarray(image.convert("RGB"))
        alpha = foreground_alpha(rgb)
        if alpha is None:
            rgba, cut = image.convert("RGBA"), False
        else:
            a = Image.fromarray(np.round(alpha * 255).astype(np.uint8)).filter(ImageFilter.BoxBlur(0.6))
            rgba = image.convert("RGB").convert("RGBA")
            rgba.putalpha(a)
            cut = True
            border = _border_pixels(rgb.astype(np.float32))
            background = tuple(int(v) for v in np.median(border, axis=0))
    bbox = rgba.getchannel("A").point(lambda v: 255 if v > 24 else 0).getbbox()
    if bbox is None or (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) < 16:
        raise ImageRejected("No product found in the image (it is empty or fully transparent).", reason="empty")
    pad = max(2, round(0.01 * max(rgba.size)))
    x0, y0 = max(0, bbox[0] - pad), max(0, bbox[1] - pad)
    x1, y1 = min(rgba.width, bbox[2] + pad), min(rgba.height, bbox[3] + pad)
    return PreparedProduct(rgba.crop((x0, y0, x1, y1)), source_size, cut, background, scale)


def product_theme_colours(image: Image.Image, *, k: int = 5, seed: int = 0) -> ThemeColours:
    """Dominant colours of the product itself (backdrop and transparent pixels excluded)."""
    small = image.copy()
    small.thumbnail((72, 72), Image.BILINEAR)
    if small.mode == "RGBA":
        rgb = np.asarray(small.convert("RGB"))
        weights = np.asarray(small.getchannel("A"), dtype=np.float32) / 255.0
        if _has_meaningful_alpha(small):
            return theme_colours(rgb.reshape(-1, 3), weights.reshape(-1), k=k, seed=seed)
    rgb = np.asarray(small.convert("RGB"))
    alpha = foreground_alpha(rgb)
    if alpha is None:
        return theme_colours(rgb.reshape(-1, 3), k=k, seed=seed)
    # Only the product's solid core: its soft edge mixes product and backdrop colours.
    weights = np.where(alpha > 0.9, 1.0, 0.0)
    if weights.sum() < 10:
        raise ImageRejected("No product found in the image to take colours from.", reason="empty")
    return theme_colours(rgb.reshape(-1, 3), weights.reshape(-1), k=k, seed=seed)


def theme_colours_from_bytes(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ThemeColours:
    """Theme colours straight from encoded bytes; JPEG draft decoding keeps this to a few ms."""
    return product_theme_colours(load_image(data, max_pixels=max_pixels, draft_size=(96, 96)))
