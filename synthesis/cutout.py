"""Product cut-out from any backdrop, or the reason there is none.

A photo is handled in one of three ways, tried in order:

1. **It already has transparency**: its alpha is the product and is never recomputed.
2. **A studio backdrop**: a smooth colour field of any colour, light or dark, plain, graded
   or vignetted. A quadratic surface per CIELAB channel is fitted robustly to the photo's
   border ring (`_fit_backdrop`), and a pixel's alpha ramps with its distance from that
   surface at its own position. Shadows are darker than the backdrop but keep its
   chromaticity and have soft outlines; regions like that count as backdrop. Regions
   enclosed by the product that match the backdrop stay transparent (a mug's handle, the
   gaps between spokes) unless they are specks; everything else enclosed is product (a
   white label on a white bottle is filled only when it differs from the backdrop).
3. **Anything else** (wood, fabric, a lifestyle photo): GrabCut (OpenCV) at a small
   working size, seeded with the border ring as backdrop and with the pixels whose colours
   are rare on the border as probable product. Its result is kept only when it is clean
   (`_clean_subject`): one subject that barely touches the frame, colours that separate
   product from backdrop, and an outline that follows edges in the photo. Otherwise the
   photo is a **scene**: `CutOut.scene` is True and `CutOut.reason` says why. The engine
   then uses it whole, full-bleed, never as a framed rectangle on a podium.

All work happens at a working size of a few hundred pixels; the alpha is scaled back to the
input's size. The method and the alternatives measured against it are in docs/cutout.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from .colour import RGB, lab_to_srgb, srgb_to_lab
from .errors import ImageRejected

BackdropKind = Literal["transparent", "studio", "textured", "scene"]

STUDIO_SIDE = 320  # working size (long side) for studio backdrops
GRABCUT_SIDE = 200  # working size for GrabCut: ~40 ms on one core
_RING = 0.04  # border ring, as a share of the short side
_SMOOTH_MAX = 6.0  # dE: border residual (90th percentile) above this is not a smooth studio backdrop
_INLIERS_MIN = 0.55  # share of the border that must fit the backdrop surface
_RAMP = 10.0  # dE over which alpha goes from 0 to 1
_SHADOW_C_MIN = 0.62  # (L+16) ratio of the darkest shadow (about 70% darker in luminance)
_EDGE = 6.0  # dE per working pixel: a sharp outline
_OUTLINE_CONTRAST_MIN = 2.0  # Fisher ratio across a GrabCut outline (clean product cuts measured 2.7-5)
_SUBJECT_MIN = 0.002  # share of the frame below which no product was found
_SUBJECT_MAX = 0.90  # share of the frame above which the "backdrop" is only a margin


@dataclass(frozen=True)
class CutOut:
    """The product's alpha at the input's size, or a declared scene."""

    alpha: np.ndarray  # float32 (H, W) in [0, 1]; all ones for a scene
    backdrop: BackdropKind
    scene: bool = False
    reason: str = ""  # why a photo is a scene
    background_rgb: RGB | None = None  # the backdrop colour at the border, for studio backdrops

    @property
    def cut(self) -> bool:
        """True when a backdrop was removed (a transparent input or a scene is not cut)."""
        return self.backdrop in ("studio", "textured") and not self.scene


def has_transparency(image: Image.Image) -> bool:
    """True when the image carries an alpha channel that is used (not all opaque)."""
    if image.mode not in ("RGBA", "LA", "PA") and not (image.mode == "P" and "transparency" in image.info):
        return False
    alpha = image.convert("RGBA").getchannel("A")
    return alpha.getextrema()[0] < 250


def cut_out(image: Image.Image) -> CutOut:
    """Separate the product from its backdrop (see the module docstring).

    Raises ImageRejected(reason="empty") when the image is fully transparent or shows a
    plain backdrop with nothing on it.
    """
    if has_transparency(image):
        alpha = np.asarray(image.convert("RGBA").getchannel("A"), dtype=np.float32) / 255.0
        if float(alpha.max()) * 255 < 24 or int((alpha > 0.1).sum()) < 16:
            raise ImageRejected("The image is fully transparent: there is no product in it.", reason="empty")
        return CutOut(alpha=alpha, backdrop="transparent")
    rgb = image.convert("RGB")
    studio = _studio_cut(rgb)
    if studio is not None:
        return studio
    return _textured_cut(rgb)


# --- studio backdrops -------------------------------------------------------------------------------


def _working(image: Image.Image, side: int) -> Image.Image:
    scale = side / max(image.size)
    if scale >= 1:
        return image
    return image.resize((max(8, round(image.width * scale)), max(8, round(image.height * scale))), Image.BOX)


def _ring_mask(h: int, w: int) -> np.ndarray:
    b = max(2, round(min(h, w) * _RING))
    ring = np.zeros((h, w), bool)
    ring[:b], ring[-b:], ring[:, :b], ring[:, -b:] = True, True, True, True
    return ring


def _design(h: int, w: int) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    xs, ys = xs / max(1, w - 1) * 2 - 1, ys / max(1, h - 1) * 2 - 1
    return np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=-1)


def _fit_backdrop(lab: np.ndarray, ring: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadratic surface per Lab channel through the border ring, refitted without outliers.

    Returns (the surface over the whole image, the residual distance of ring pixels, the
    ring pixels kept as backdrop). Products touching the frame are the outliers trimmed.
    """
    design = _design(*lab.shape[:2])
    x, y = design[ring].astype(np.float64), lab[ring].astype(np.float64)
    keep = np.ones(len(y), bool)
    # Start from the median colour so a product covering a side doesn't tilt the first fit.
    residual = np.linalg.norm(y - np.median(y, axis=0), axis=1)
    keep = residual <= max(np.percentile(residual, 60) * 3, 4.0)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(x[keep], y[keep], rcond=None)
        residual = np.linalg.norm(y - x @ coef, axis=1)
        scale = 1.4826 * float(np.median(residual[keep])) + 0.5
        keep = residual <= max(3.0 * scale, 3.0)
    surface = (design.reshape(-1, 6) @ coef).reshape(*lab.shape[:2], 3).astype(np.float32)
    return surface, residual, keep


def _studio_cut(rgb: Image.Image) -> CutOut | None:
    """Alpha against a smooth backdrop, or None when the border is not one."""
    work = _working(rgb, STUDIO_SIDE)
    lab = srgb_to_lab(np.asarray(work)).astype(np.float32)
    h, w = lab.shape[:2]
    ring = _ring_mask(h, w)
    surface, residual, keep = _fit_backdrop(lab, ring)
    spread = float(np.percentile(residual[keep], 90)) if keep.any() else np.inf
    if keep.mean() < _INLIERS_MIN or spread > _SMOOTH_MAX:
        return None

    diff = lab - surface
    d_plain = np.sqrt(diff[..., 0] ** 2 + diff[..., 1] ** 2 + diff[..., 2] ** 2)
    # A shadow scales the backdrop's linear RGB by k; in Lab (L+16) and a, b then scale by k^(1/3).
    ratio = (lab[..., 0] + 16.0) / np.maximum(surface[..., 0] + 16.0, 1e-3)
    expected_ab = surface[..., 1:] * ratio[..., None]
    d_shadow = np.linalg.norm(lab[..., 1:] - expected_ab, axis=-1)
    t0 = max(5.0, 2.5 * spread)
    different = d_plain > t0
    shadowish = different & (d_shadow < t0) & (ratio >= _SHADOW_C_MIN) & (ratio < 1.0)
    shadow = _soft_regions(shadowish, different, lab[..., 0])
    distance = np.where(shadow, 0.0, d_plain)

    t = np.clip((distance - t0) / _RAMP, 0.0, 1.0)
    alpha = t * t * (3 - 2 * t)
    raw = alpha > 0.5
    # A hole shows the backdrop as it would be there, within the border's own noise; a white label
    # on a white backdrop differs by a few dE and is product.
    hole_like = distance < max(2.5, 2.0 * spread)
    solid = _clean_mask(raw, hole_like, min_hole=max(12, round(0.00015 * h * w)))
    if solid.mean() < _SUBJECT_MIN:
        raise ImageRejected("No product found: the photo shows only its backdrop.", reason="empty")
    # Filled holes become solid; the soft edge next to the product stays; specks go.
    alpha = np.where(solid & ~raw, 1.0, np.where(ndimage.binary_dilation(solid, iterations=2), alpha, 0.0))
    background = tuple(int(v) for v in lab_to_srgb(np.median(lab[ring][keep], axis=0)))
    if solid.mean() > _SUBJECT_MAX:
        return _scene("The product fills the frame: there is no backdrop to remove.", background)
    return CutOut(alpha=_to_size(alpha, rgb.size), backdrop="studio", background_rgb=background)  # type: ignore[arg-type]


def _soft_regions(candidates: np.ndarray, different: np.ndarray, lightness: np.ndarray) -> np.ndarray:
    """The candidate shadow regions whose outline against the backdrop is soft.

    A product's outline is sharp (a jump of tens of dE within a pixel or two); a shadow fades
    into the backdrop. Sharp edges split touching regions first, so a grey product and its
    own shadow are judged apart.
    """
    gy, gx = ndimage.sobel(lightness, 0), ndimage.sobel(lightness, 1)
    gradient = np.hypot(gx, gy) / 8.0
    regions, n = ndimage.label(candidates & (gradient < _EDGE))
    if n == 0:
        return np.zeros_like(candidates)
    outline = regions * (ndimage.binary_dilation(~different) & (regions > 0))
    # The outline's gradient, measured just outside it (the backdrop side), per region.
    near = ndimage.grey_dilation(gradient, size=3)
    index = np.arange(1, n + 1)
    median = np.asarray(ndimage.median(near, outline, index), dtype=np.float64)
    counts = np.asarray(ndimage.sum(outline > 0, outline, index))
    soft = np.zeros(n + 1, bool)
    soft[1:] = (counts > 0) & (np.nan_to_num(median, nan=np.inf) < _EDGE)
    grown = soft[regions]
    # Pixels of the shadow's own fading rim were cut off by the gradient test; take them back.
    return grown | (candidates & ndimage.binary_dilation(grown, iterations=2))


def _clean_mask(mask: np.ndarray, backdrop_like: np.ndarray, *, min_hole: int) -> np.ndarray:
    """Drop specks, fill enclosed specks and enclosed regions that do not look like backdrop."""
    regions, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = np.asarray(ndimage.sum(mask, regions, np.arange(1, n + 1)))
    big = sizes >= max(16, 0.02 * sizes.max())
    mask = big[regions - 1] & (regions > 0)
    holes, m = ndimage.label(ndimage.binary_fill_holes(mask) & ~mask)
    if m:
        index = np.arange(1, m + 1)
        hole_sizes = np.asarray(ndimage.sum(np.ones_like(mask), holes, index))
        backdrop_share = np.asarray(ndimage.mean(backdrop_like, holes, index))
        keep_open = (hole_sizes >= min_hole) & (backdrop_share >= 0.6)
        fill = np.zeros(m + 1, bool)
        fill[1:] = ~keep_open
        mask = mask | fill[holes]
    return mask


def _to_size(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    img = Image.fromarray(np.round(np.clip(alpha, 0, 1) * 255).astype(np.uint8))
    if img.size != size:
        img = img.resize(size, Image.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def _scene(reason: str, background: RGB | None = None, size: tuple[int, int] | None = None) -> CutOut:
    shape = (size[1], size[0]) if size else (1, 1)
    return CutOut(np.ones(shape, np.float32), backdrop="scene", scene=True, reason=reason, background_rgb=background)


# --- textured backdrops and scenes ------------------------------------------------------------------


def _textured_cut(rgb: Image.Image) -> CutOut:
    import cv2  # OpenCV is only needed off a studio backdrop

    cv2.setNumThreads(1)
    work = np.ascontiguousarray(np.asarray(_working(rgb, GRABCUT_SIDE)))
    h, w = work.shape[:2]
    ring = _ring_mask(h, w)
    rare = _rare_on_border(work, ring)
    if rare.mean() < _SUBJECT_MIN:
        return _scene("Nothing in the photo stands out from its surroundings: no product to cut out.", size=rgb.size)
    mask = np.where(ring, cv2.GC_BGD, np.where(rare, cv2.GC_PR_FGD, cv2.GC_PR_BGD)).astype(np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(work, mask, None, bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return _scene("The photo's colours give the cut-out nothing to separate.", size=rgb.size)
    subject = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    lab = srgb_to_lab(work).astype(np.float32)
    subject = _clean_mask(subject, np.zeros_like(subject), min_hole=1 << 30)
    reason = _clean_subject(subject, lab, ring)
    if reason:
        return _scene(reason, size=rgb.size)
    soft = Image.fromarray(subject.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(0.7))
    alpha = np.asarray(soft, dtype=np.float32) / 255.0
    return CutOut(alpha=_to_size(alpha, rgb.size), backdrop="textured")


def _rare_on_border(rgb: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Pixels whose colour (16 levels a channel) is rare among the border's colours."""
    q = (rgb // 16).astype(np.int32)
    code = (q[..., 0] * 16 + q[..., 1]) * 16 + q[..., 2]
    hist = np.bincount(code[ring], minlength=4096).astype(np.float64)
    hist = ndimage.uniform_filter(hist.reshape(16, 16, 16), size=3).reshape(-1)  # neighbouring shades count
    hist /= max(hist.sum(), 1.0)
    return (hist[code] < 0.2 / 4096) & ~ring


def _clean_subject(subject: np.ndarray, lab: np.ndarray, ring: np.ndarray) -> str:
    """Why a GrabCut result is not a clean product cut-out, or '' when it is."""
    share = float(subject.mean())
    if share < 0.01:
        return "No clear subject: nothing large enough stands apart from the background."
    if share > 0.75:
        return "The subject fills most of the frame: there is no backdrop to remove."
    regions, n = ndimage.label(subject)
    sizes = np.asarray(ndimage.sum(subject, regions, np.arange(1, n + 1)))
    if sizes.max() < 0.7 * sizes.sum():
        return "Several separate subjects: no single product stands out."
    inner = ndimage.binary_dilation(ring, iterations=2) & ~ring
    if subject[inner].mean() > 0.15:
        return "The subject runs into the frame on several sides: the photo is a scene."
    q = np.clip((lab + [0, 128, 128]) / [100 / 8, 256 / 8, 256 / 8], 0, 7.999).astype(np.int32)
    code = (q[..., 0] * 8 + q[..., 1]) * 8 + q[..., 2]
    fg = np.bincount(code[subject], minlength=512) / max(1, subject.sum())
    bg = np.bincount(code[~subject], minlength=512) / max(1, (~subject).sum())
    overlap = float(np.sqrt(fg * bg).sum())  # Bhattacharyya coefficient
    if overlap > 0.45:
        return f"The product's colours are also the background's (overlap {overlap:.2f}): no clean outline."
    # Contrast across the outline, against the colour spread on either side (a Fisher ratio):
    # a textured backdrop has strong edges everywhere, so edges alone would not tell.
    inside = subject & ~ndimage.binary_erosion(subject, iterations=3)
    outside = ndimage.binary_dilation(subject, iterations=3) & ~subject
    spread = np.sqrt((lab[inside].var(axis=0) + lab[outside].var(axis=0)).sum()) + 1.0
    contrast = float(np.linalg.norm(lab[inside].mean(axis=0) - lab[outside].mean(axis=0))) / spread
    if contrast < _OUTLINE_CONTRAST_MIN:
        return f"The outline is not a clear edge (contrast {contrast:.1f}): the separation would be a guess."
    return ""
