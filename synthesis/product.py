"""Product preparation: cut a product out of its photo, trim it, find the colour a shopper names.

The cut-out itself is `synthesis.cutout` (any backdrop, or a declared scene). Here the
product is trimmed to its pixels, a product too small to recognise is cropped or refused,
and the theme colour is read from the product's own pixels only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from .colour import RGB, ThemeColours, by_salience, srgb8_to_lab, theme_colours
from .cutout import BackdropKind, CutOut, cut_out, has_transparency, in_focus_edges
from .errors import ImageRejected
from .images import DEFAULT_MAX_PIXELS, load_image

MIN_PRODUCT_SIDE = 64  # source pixels on the product's short side: fewer cannot show it in an ad (upscales past the
# source are the score's sharpness component's business)


@dataclass(frozen=True)
class PreparedProduct:
    image: Image.Image  # RGBA, trimmed to the product with a small transparent pad (a scene: the whole photo)
    source_size: tuple[int, int]
    cut_out: bool  # True when a backdrop was removed
    background_rgb: RGB | None
    source_scale: float = 1.0  # prepared pixels per source pixel (< 1 when reduced)
    backdrop: BackdropKind = "studio"
    scene_reason: str = ""  # why the photo is a scene (no clean separation), else ""
    real_height_cm: float | None = None  # the product's own height, when known: products beside it keep true scale
    # A scene's subject, as fractions of the photo (x0, y0, x1, y1): what a crop keeps in view and the
    # copy keeps off (`scene_subject`); None for a cut-out.
    subject_box: tuple[float, float, float, float] | None = None
    # How much of the scene's subject lies in each column and each row of the photo (two profiles, each
    # summing to 1; `scene_subject`): a crop that keeps the core box but little of the rest (a motorcycle's
    # tank without its wheels) is no crop of the subject. None when unknown: the box alone decides.
    subject_mass: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    # A scene of a product lying wholly on a plain studio sweep (no clean cut, see `CutOut.on_sweep`): a crop
    # may extend the sweep past the photo's edges to show all of the product rather than cut it.
    on_sweep: bool = False

    @property
    def scene(self) -> bool:
        """A photo without a clean cut-out: templates that take scenes show it whole, full-bleed or cover."""
        return self.backdrop == "scene"


def _reduced(image: Image.Image, max_side: int) -> tuple[Image.Image, float]:
    if max(image.size) <= max_side:
        return image, 1.0
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.BILINEAR), scale


def prepare_product(image: Image.Image, *, max_side: int = 1200) -> PreparedProduct:
    """RGBA cut-out of a product photo, or the photo whole as a scene.

    Raises ImageRejected with reason "empty" (fully transparent, or only a backdrop) or
    "too_small" (the product has fewer than MIN_PRODUCT_SIDE source pixels on its short side).
    """
    source_size = image.size
    rgba = image if has_transparency(image) else image.convert("RGB")
    found: CutOut = cut_out(rgba)
    if found.scene:
        photo, scale = _reduced(image.convert("RGB"), max_side)
        return PreparedProduct(
            photo.convert("RGBA"),
            source_size,
            False,
            None,
            scale,
            backdrop="scene",
            scene_reason=found.reason,
            **_subject_fields(scene_subject(photo, found.subject)),
            on_sweep=found.on_sweep,
        )
    product = image.convert("RGBA") if found.backdrop == "transparent" else image.convert("RGB").convert("RGBA")
    if found.backdrop != "transparent":
        product.putalpha(Image.fromarray(np.round(found.alpha * 255).astype(np.uint8)))
    bbox = product.getchannel("A").point(lambda v: 255 if v > 24 else 0).getbbox()
    if bbox is None or (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) < 16:
        raise ImageRejected("No product found in the image (it is empty or fully transparent).", reason="empty")
    short = min(bbox[2] - bbox[0], bbox[3] - bbox[1])
    if short < MIN_PRODUCT_SIDE:
        raise ImageRejected(
            f"The product is only {short} px on its short side in a {image.width}x{image.height} photo; "
            f"at least {MIN_PRODUCT_SIDE} px are needed to show it in an ad. Upload a larger or closer photo.",
            reason="too_small",
        )
    # Cropping to the product first means a small product in a large frame keeps all its pixels.
    pad = max(2, round(0.01 * max(bbox[2] - bbox[0], bbox[3] - bbox[1])))
    x0, y0 = max(0, bbox[0] - pad), max(0, bbox[1] - pad)
    x1, y1 = min(product.width, bbox[2] + pad), min(product.height, bbox[3] + pad)
    trimmed, scale = _reduced(product.crop((x0, y0, x1, y1)), max_side)
    return PreparedProduct(trimmed, source_size, found.cut, found.background_rgb, scale, backdrop=found.backdrop)


def prepare_scene(image: Image.Image, *, max_side: int = 1200, reason: str = "declared a scene") -> PreparedProduct:
    """A lifestyle photo shown whole as a scene (templates that take scenes), never cut out.

    For photos the operator says are scenes: cutting the product out of a styled shot would
    throw away the styling the photo was taken for.
    """
    photo, scale = _reduced(image.convert("RGB"), max_side)
    return PreparedProduct(
        photo.convert("RGBA"),
        image.size,
        False,
        None,
        scale,
        backdrop="scene",
        scene_reason=reason,
        **_subject_fields(scene_subject(photo)),
    )


SALIENCY_SIDE = 192  # px: the copy a scene's subject is looked for in
SALIENT_SHARE = 0.5  # of the peak saliency: the subject's core
SUBJECT_REACH = 0.25  # of the peak saliency: how far the subject reaches from its core


@dataclass(frozen=True)
class SceneSubject:
    """Where a scene's subject is: `box`, its core as fractions of the photo (x0, y0, x1, y1), and `mass`,
    how much of all of it lies in each column and each row of a small copy (two profiles, each summing to 1)."""

    box: tuple[float, float, float, float]
    mass: tuple[tuple[float, ...], tuple[float, ...]]


def scene_subject(photo: Image.Image, subject: np.ndarray | None = None) -> SceneSubject | None:
    """Where a scene's subject is, or None when nothing stands out.

    The cut-out's `subject` when it saw one stand apart from a studio backdrop (box and mass both
    its own). Otherwise a classical, weight-free saliency on a small copy: (the colour distance of
    each pixel (blurred 3 px) from the border's median colour, over its peak, + 2 x the density of
    in-focus edges (`cutout.in_focus_edges`, smoothed over 4% of the side), over its peak, + the
    minimum barrier distance from the frame (`_barrier_distance`), over its peak) x a centre prior
    exp(-r^2 / 0.18), r the distance from the centre in fractions of each side.
    - The box is the core: the connected region at SALIENT_SHARE of the peak or more holding the most
      saliency (the cup on its saucer, the rocket on its pad, the flower among leaves, the pagoda, a
      bag in focus before a blurred street). Crops centre it and the copy keeps off it.
    - The mass is the saliency over the region at SUBJECT_REACH of the peak connected to the core: the
      rest of the subject, less salient than its core but part of it (a motorcycle's chrome wheels
      round its red tank, the saucer under a cup), which a crop should not cut away wholesale.
    """
    found = _subject_weights(photo, subject)
    if found is None:
        return None
    (x0, y0, x1, y1), weights = found
    h, w = weights.shape
    total = float(weights.sum())
    mass = (tuple((weights.sum(axis=0) / total).tolist()), tuple((weights.sum(axis=1) / total).tolist()))
    return SceneSubject((x0 / w, y0 / h, x1 / w, y1 / h), mass)


def _subject_weights(
    photo: Image.Image, subject: np.ndarray | None = None
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """A scene's subject (see `scene_subject`) as its core box (x0, y0, x1, y1, pixels of the small copy)
    and its weights over that copy, or None when nothing stands out."""
    if subject is not None and subject.any():
        weights = subject.astype(np.float64)
        core = subject
    else:
        small = photo.convert("RGB")
        small.thumbnail((SALIENCY_SIDE, SALIENCY_SIDE), Image.BILINEAR)
        saliency = _saliency(srgb8_to_lab(np.asarray(small)))
        peak = float(saliency.max())
        if peak <= 0:
            return None
        core = _region(saliency >= SALIENT_SHARE * peak, saliency, largest=True)
        weights = np.where(_region(saliency >= SUBJECT_REACH * peak, core), saliency, 0.0)
    h, w = core.shape
    ys, xs = np.nonzero(core)
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    # What lies far from the core, for its size, is the scene's, not the subject's (a launch pad's lights
    # three rockets' widths away); a motorcycle's wheels continue its tank.
    dx = np.maximum(0, np.maximum(x0 - np.arange(w) - 0.5, np.arange(w) + 0.5 - x1)) / (x1 - x0)
    dy = np.maximum(0, np.maximum(y0 - np.arange(h) - 0.5, np.arange(h) + 0.5 - y1)) / (y1 - y0)
    return (x0, y0, x1, y1), weights * np.exp(-np.add.outer(dy**2, dx**2))


def _subject_fields(found: SceneSubject | None) -> dict:
    return {"subject_box": found.box if found else None, "subject_mass": found.mass if found else None}


def _saliency(lab: np.ndarray) -> np.ndarray:
    """Each pixel's saliency on a small Lab copy (see `scene_subject`)."""
    h, w = lab.shape[:2]
    focus = ndimage.gaussian_filter(in_focus_edges(lab).astype(np.float32), 0.04 * max(h, w))
    blur = np.stack([ndimage.gaussian_filter(lab[..., c], 3) for c in range(3)], axis=-1)
    band = max(2, round(0.06 * min(h, w)))
    ring = np.ones((h, w), bool)
    ring[band:-band, band:-band] = False
    distance = np.sqrt(((blur - np.median(lab[ring], axis=0)) ** 2).sum(axis=-1))
    barrier = ndimage.gaussian_filter(_barrier_distance(lab), 1.5)
    ys, xs = np.mgrid[0:h, 0:w]
    centre = np.exp(-(((xs + 0.5) / w - 0.5) ** 2 + ((ys + 0.5) / h - 0.5) ** 2) / 0.18)
    weighted = ((distance, 1.0), (focus, 2.0), (barrier, 1.0))  # focus first: a lifestyle shot's product is sharp
    return sum(weight * term / max(float(term.max()), 1e-6) for term, weight in weighted) * centre


BARRIER_SIDE = 96  # px: the copy the barrier distance is measured on (it is smooth; a pass costs per pixel)
BARRIER_PASSES = 2  # rounds of the four raster scans


def _barrier_distance(lab: np.ndarray) -> np.ndarray:
    """The minimum barrier distance of each pixel from the frame (Zhang et al., "Minimum Barrier Salient
    Object Detection at 80 FPS", 2015): over the paths from the pixel to the frame, the least range of
    colour met on the way (per Lab channel, max - min, summed). What the frame reaches through gentle
    change (a blurred room, a sky, a perch running out of the frame) is near; what an outline walls off
    is far, however plain (a robin's breast, a motorcycle's chrome wheels). Four raster scans a round,
    each a row or column at a time, on a copy BARRIER_SIDE px across, enlarged back."""
    h, w = lab.shape[:2]
    factor = min(1.0, BARRIER_SIDE / max(h, w))
    small = ndimage.zoom(ndimage.gaussian_filter(lab, (1, 1, 0)), (factor, factor, 1), order=1) if factor < 1 else lab
    image = small.astype(np.float32)
    sh, sw = image.shape[:2]
    distance = np.full((sh, sw), np.inf, np.float32)
    distance[[0, -1], :] = distance[:, [0, -1]] = 0.0
    upper, lower = image.copy(), image.copy()

    def relax(target: tuple, source: tuple) -> None:
        high = np.maximum(upper[source], image[target])
        low = np.minimum(lower[source], image[target])
        through = (high - low).sum(axis=-1)
        better = through < distance[target]
        distance[target] = np.where(better, through, distance[target])
        upper[target] = np.where(better[..., None], high, upper[target])
        lower[target] = np.where(better[..., None], low, lower[target])

    for _ in range(BARRIER_PASSES):
        for y in range(1, sh):
            relax(np.s_[y], np.s_[y - 1])
        for y in range(sh - 2, -1, -1):
            relax(np.s_[y], np.s_[y + 1])
        for x in range(1, sw):
            relax(np.s_[:, x], np.s_[:, x - 1])
        for x in range(sw - 2, -1, -1):
            relax(np.s_[:, x], np.s_[:, x + 1])
    if factor < 1:
        distance = np.asarray(Image.fromarray(distance).resize((w, h), Image.BILINEAR))
    return distance


def _region(mask: np.ndarray, among: np.ndarray, *, largest: bool = False) -> np.ndarray:
    """The connected parts of `mask` holding the most of `among` (largest=True) or touching it (a mask)."""
    regions, n = ndimage.label(mask)
    if largest:
        return regions == 1 + int(np.argmax(ndimage.sum(among, regions, range(1, n + 1))))
    return np.isin(regions, np.unique(regions[among & mask])) & mask


def product_theme_colours(image: Image.Image, *, k: int = 5, seed: int = 0) -> ThemeColours:
    """The product's colours, the one a shopper would name first (see `colour.by_salience`).

    Only the product's own pixels count: its alpha when it has one, else the cut-out's solid
    core (the soft edge mixes product and backdrop). A scene (no clean cut-out) is read where its
    subject is (`scene_subject`'s weights), or whole, weighted towards its centre, when nothing stands out.
    """
    small = image.copy()
    small.thumbnail((72, 72), Image.BILINEAR)
    opaque = small.convert("RGB")
    found = cut_out(small if has_transparency(small) else opaque)
    if found.scene and max(image.size) >= 2 * max(small.size):
        found = _cut_out_in_detail(image, small.size) or found
    rgb = np.asarray(opaque)
    subject = _scene_subject(found, small.size)
    if subject is not None:
        weights = subject
    elif found.scene:
        # Its subject's weights (`scene_subject`): a motorcycle in a grey garage is red and a tree on a hill
        # green; read whole, weighted towards the centre, they were the garage's grey and the sky's blue.
        seen = _subject_weights(image)
        h, w = rgb.shape[:2]
        if seen is None:
            ys, xs = np.mgrid[0:h, 0:w]
            weights = np.exp(-(((xs / w - 0.5) ** 2 + (ys / h - 0.5) ** 2) / 0.08))
        else:
            weights = np.asarray(Image.fromarray(seen[1].astype(np.float32)).resize((w, h), Image.BILINEAR))
    elif found.backdrop == "transparent":
        weights = found.alpha
    else:
        weights = np.where(found.alpha > 0.9, 1.0, 0.0)
        if found.unlike_backdrop is not None and found.unlike_backdrop.shape == weights.shape:
            # Leave out the backdrop seen through holes the cut filled, and its blends with thin grey
            # parts, unless that leaves little: then the product is in the backdrop's own colours.
            unlike = weights * found.unlike_backdrop
            if unlike.sum() >= 0.25 * weights.sum():
                weights = unlike
    if weights.sum() < 10:
        raise ImageRejected("No product found in the image to take colours from.", reason="empty")
    weights = weights * _purity(rgb)
    return by_salience(theme_colours(rgb.reshape(-1, 3), weights.reshape(-1), k=k, seed=seed))


def _scene_subject(found: CutOut, size: tuple[int, int]) -> np.ndarray | None:
    """A scene's subject as weights at `size` (1 on it), when the cut-out saw one stand apart from a
    studio backdrop and it is large enough to read: a sneaker cropped to its toe on a black sweep is
    a scene, and its colour the sneaker's green, not the sweep's black that fills the frame's centre."""
    if not found.scene or found.subject is None:
        return None
    mask = Image.fromarray(found.subject.astype(np.uint8) * 255).resize(size, Image.NEAREST)
    weights = (np.asarray(mask) > 127).astype(np.float64)
    return weights if weights.sum() >= 10 else None


THEME_DETAIL_SIDE = 200  # px: a second look at a photo the theme colour's 72 px copy took for a scene


def _cut_out_in_detail(image: Image.Image, size: tuple[int, int]) -> CutOut | None:
    """The cut-out of a copy of `image` THEME_DETAIL_SIDE px across, its alpha at `size`, when that
    copy is not a scene. At 72 px a wheel's rim, a pixel or two wide, no longer shows where the frame
    cuts it and where the backdrop goes on round it: a wheel running off a corner of a red sweep was
    a scene there, and its theme the sweep's red (60-75 dE on two draws of the bench's set)."""
    detail = image.copy()
    detail.thumbnail((THEME_DETAIL_SIDE, THEME_DETAIL_SIDE), Image.BILINEAR)
    found = cut_out(detail.convert("RGB"))
    if found.scene:
        return None
    alpha = np.asarray(Image.fromarray(found.alpha).resize(size, Image.BILINEAR), dtype=np.float32)
    return CutOut(alpha=alpha, backdrop=found.backdrop, background_rgb=found.background_rgb)


MIXED_DE = 6.0  # dE: a pixel this far from both its neighbours along some axis is a blend of two colours


def _purity(rgb: np.ndarray) -> np.ndarray:
    """How surely each pixel shows one surface's colour rather than a blend of two (0..1).

    A pixel that straddles an outline (a thin rim between its tyre and the backdrop, a spoke)
    mixes the colours either side, and is unlike both of its neighbours along the axis across
    the outline; a pixel of a surface, even at its edge, matches the neighbour on its own side.
    The weight is 1 / (1 + (e / MIXED_DE)^2), e the largest over the four axes (horizontal,
    vertical, both diagonals) of the distance to the closer of the two neighbours.
    """
    lab = np.pad(srgb8_to_lab(rgb), ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = rgb.shape[:2]
    e2 = np.zeros((h, w), np.float32)
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        # The squared distance of each pair of neighbours along the axis, once: a pixel's distance
        # to its neighbour behind it is that neighbour's distance to it.
        x0 = max(0, -dx)
        d = lab[: h + 2 - dy, x0 : w + 2 - max(0, dx)] - lab[dy:, x0 + dx : w + 2 - max(0, dx) + dx]
        pairs = np.einsum("ijk,ijk->ij", d, d)
        ahead = pairs[1 : h + 1, 1 - x0 : w + 1 - x0]
        behind = pairs[1 - dy : h + 1 - dy, 1 - dx - x0 : w + 1 - dx - x0]
        e2 = np.maximum(e2, np.minimum(ahead, behind))
    return 1.0 / (1.0 + e2 / MIXED_DE**2)


def theme_colours_from_bytes(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ThemeColours:
    """Theme colours straight from encoded bytes; JPEG draft decoding keeps this to a few ms."""
    # Decoded at no less than THEME_DETAIL_SIDE: enough for the second look at a photo read as a scene.
    side = THEME_DETAIL_SIDE
    return product_theme_colours(load_image(data, max_pixels=max_pixels, draft_size=(side, side)))
