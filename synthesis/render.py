"""Layers to pixels: one template, one palette, one set of choices, one size -> an ad image.

`render` is deterministic: the same request, fonts and assets give the same pixels. It
also returns what it drew where (boxes, text blocks, contrast under each text, product
coverage), which `synthesis.score` turns into the aesthetic score and the hard checks.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .colour import RGB, Palette, best_text_colour, best_text_colour_over, text_luminance
from .copyfit import CopyFit, Dropped, FittedText, contained_box, decoration_asset, fit_copy
from .errors import SynthesisError, TimeBudgetExceeded
from .fonts import FontRegistry
from .layout import Layout, PixelBox, aspect_class
from .product import PreparedProduct
from .spec import Box, Layer, Template
from .text import TextBlock, fill_text, mask_ink_bbox, text_mask

AA_CONTRAST = 4.5  # WCAG 2.x AA for normal text


class AssetNotFound(SynthesisError):
    code = "asset_not_found"


class SceneNotSupported(SynthesisError):
    """A scene photo (no clean cut-out) given to a template that does not show scenes, or with other products."""

    code = "scene_not_supported"


@dataclass(frozen=True)
class AdCopy:
    title: str
    subtitle: str = ""
    price: str = ""
    badge: str = ""

    def for_role(self, role: str) -> str:
        return {"title": self.title, "subtitle": self.subtitle, "price": self.price, "badge": self.badge}.get(role, "")


@dataclass(frozen=True)
class LayerChoice:
    """What the candidate search picked for one layer among its declared variations."""

    visible: bool = True
    align: str | None = None
    asset: str | None = None
    size_scale: float = 1.0
    colour: str | None = None
    plate: str | None = None


@dataclass(frozen=True)
class RenderChoices:
    palette: Palette
    arrangement: str | None = None
    grouping: str = "auto"
    layers: Mapping[str, LayerChoice] = field(default_factory=dict)

    def for_layer(self, layer_id: str) -> LayerChoice:
        return self.layers.get(layer_id, LayerChoice())


@dataclass(frozen=True)
class PlacedText:
    layer_id: str
    role: str
    box: PixelBox
    ink: tuple[int, int, int, int]  # x0, y0, x1, y1
    block: TextBlock
    colour: RGB
    contrast: float  # 5th-percentile WCAG contrast against the pixels under the text
    plate: str
    min_cap_px: float = 0.0  # the layer's minimum legible cap height, px at the creative's real size
    cap_px: float = 0.0  # the drawn cap height, px at the creative's real size
    full_text: str = ""  # the copy asked for; `drawn_text` is what a cut at a phrase boundary left

    @property
    def drawn_text(self) -> str:
        return self.block.drawn_text


@dataclass(frozen=True)
class PlacedElement:
    layer_id: str
    role: str
    bbox: tuple[int, int, int, int]  # drawn extent x0, y0, x1, y1
    holds_text: bool = False  # a decoration made to hold text (a star, a ribbon): never drawn empty


@dataclass(frozen=True)
class Rendered:
    image: Image.Image  # RGB
    layout: Layout
    texts: tuple[PlacedText, ...]
    elements: tuple[PlacedElement, ...]  # products, logos, decorations, badges' plates
    product_mask: np.ndarray  # bool (H, W): pixels where a product is opaque
    product_bboxes: tuple[tuple[int, int, int, int], ...]
    max_upscale: float  # largest product enlargement over its source pixels
    warnings: tuple[str, ...]
    stage: tuple[int, int, int, int] | None = (
        None  # the podium's top surface x0, y0, x1, y1, when the background has one
    )
    scene_fit: str = "none"  # how a scene photo was shown ("full-bleed", "cover"); "none" for cut-outs
    dropped: tuple[Dropped, ...] = ()  # elements this canvas does not draw, and why (synthesis.copyfit)
    # A full-bleed scene's subject x0, y0, x1, y1 on the canvas (the photo is the whole canvas, so the
    # product mask cannot say where copy would cover what the photo shows); None otherwise.
    scene_subject: tuple[int, int, int, int] | None = None

    def encode(self, fmt: str = "JPEG", quality: int = 88) -> bytes:
        buf = io.BytesIO()
        if fmt.upper() == "JPEG":
            self.image.save(buf, format="JPEG", quality=quality, optimize=False, subsampling="4:2:0")
        else:
            self.image.save(buf, format=fmt)
        return buf.getvalue()


JPEG_QUALITIES = (88, 82, 76, 70, 62, 54, 46, 38)


def encode_jpeg_within(image: Image.Image, max_bytes: int | None) -> tuple[bytes, int, bool]:
    """The best-quality JPEG of `image` that fits `max_bytes` (a placement's file-size limit).

    Returns (bytes, quality, fits); when even the lowest quality is too big, the smallest
    encoding with fits=False, so the caller can flag it rather than ship an oversized file.
    """
    data, quality = b"", JPEG_QUALITIES[0]
    for quality in JPEG_QUALITIES:
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=quality, optimize=quality < JPEG_QUALITIES[0], subsampling="4:2:0")
        data = buf.getvalue()
        if max_bytes is None or len(data) <= max_bytes:
            return data, quality, True
    return data, quality, False


def thumbnail_jpeg(image: Image.Image, max_side: int = 320) -> bytes:
    """A small JPEG for galleries: the image scaled to fit `max_side`.

    Reduced by whole pixel blocks first while the Lanczos step left still shrinks it 1.5x or
    more (Pillow's default waits for 2x): a 1080x1080 creative is halved, then resampled, in
    half the time (15 -> 7.5 ms), a level or so from the slower picture at 320 px.
    """
    thumb = image.copy()
    thumb.thumbnail((max_side, max_side), Image.LANCZOS, reducing_gap=1.5)
    buf = io.BytesIO()
    thumb.convert("RGB").save(buf, format="JPEG", quality=80, optimize=True)
    return buf.getvalue()


def gradient_grid(size: tuple[int, int], start: RGB, end: RGB, angle: float, strength: float) -> np.ndarray:
    """A linear gradient's colours (uint8 RGB) on a grid 1/8 of `size`: `gradient_image` enlarges it."""
    w, h = size
    gw, gh = max(2, w // 8), max(2, h // 8)
    theta = math.radians(angle)
    dx, dy = math.cos(theta), math.sin(theta)
    xs = np.linspace(-0.5, 0.5, gw, dtype=np.float32)[None, :]
    ys = np.linspace(-0.5, 0.5, gh, dtype=np.float32)[:, None]
    t = (xs * dx + ys * dy) / (abs(dx) * 0.5 + abs(dy) * 0.5) * 0.5 + 0.5
    t = np.clip(t, 0.0, 1.0) * strength
    a = np.asarray(start, dtype=np.float32)
    b = np.asarray(end, dtype=np.float32)
    return np.clip(a + (b - a) * t[:, :, None] + 0.5, 0, 255).astype(np.uint8)


def gradient_image(size: tuple[int, int], start: RGB, end: RGB, angle: float, strength: float) -> Image.Image:
    """A linear gradient; computed on a grid 1/8 the size and smoothly enlarged (it has no detail).

    An up-down (or left-right) gradient is one colour along each row (column): there only one
    column (row) of the grid is enlarged and repeated across, the same pixels as enlarging the
    whole grid at a fraction of its cost (it was a full render's largest cost after the JPEG).
    """
    w, h = size
    rgb = gradient_grid(size, start, end, angle, strength)
    # Bilinear enlarging is separable: rows of one colour stay so, and each column is the
    # first column enlarged (likewise for columns of one colour).
    if (rgb == rgb[:, :1]).all():
        line = Image.fromarray(np.ascontiguousarray(rgb[:, :1])).resize((1, h), Image.BILINEAR)
    elif (rgb == rgb[:1]).all():
        line = Image.fromarray(np.ascontiguousarray(rgb[:1])).resize((w, 1), Image.BILINEAR)
    else:
        return Image.fromarray(rgb).resize((w, h), Image.BILINEAR).convert("RGBA")
    return line.convert("RGBA").resize((w, h), Image.NEAREST)


def _memo(cache: dict | None, key: tuple, make):
    """Look `key` up in the caller's cache (the search passes one per call; ids are stable within it)."""
    if cache is None:
        return make()
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _memo_canvas(cache: dict | None, key: tuple, make) -> Image.Image:
    """A canvas-sized image to draw on: made fresh without a cache, else a copy of the cached one."""
    return make() if cache is None else _memo(cache, key, make).copy()


BACKDROP_MEMO_PIXELS = 40_000_000  # what a caller's backdrop memo holds (~160 MB of RGBA) before it starts again


def _memo_backdrop(memo: dict | None, cache: dict | None, key: tuple, source: Image.Image, make):
    """An asset fitted to a canvas, from the caller's long-lived `memo` when it has one, else from `cache`.

    Every product set of a campaign draws the same template assets at the same sizes: with a memo
    kept between searches, each asset background (a 1600 px podium enlarged and cropped to a
    1080x1920 canvas) is made once per process, not once per product set. The memo holds the
    source too, so its id is never reused while the entry lives; it starts again past
    BACKDROP_MEMO_PIXELS.
    """
    if memo is None:
        return _memo(cache, key, make)
    kept = memo.get(key)
    if kept is not None and kept[0] is source:
        return kept[1]
    made = make()
    image = made[0] if isinstance(made, tuple) else made
    held = sum(v[2] for v in list(memo.values()))  # a snapshot: a caller's other thread may be adding one
    if held + image.width * image.height > BACKDROP_MEMO_PIXELS:
        memo.clear()
    memo[key] = (source, made, image.width * image.height)
    return made


TEXT_MEMO_PIXELS = 20_000_000  # glyph pixels a caller's text memo holds (~40 MB with their grown copies)


@dataclass
class TextMemo:
    """Rasterised texts kept by a caller between searches: a text's mask is a pure function of
    its laid-out block, box and style (the face is named by its file), and every product set
    of a campaign sets its title, badge and price in the same boxes. Starts again past `limit`
    glyph pixels (a running count: summing thousands of small entries on every miss would cost
    more than the masks)."""

    limit: int = TEXT_MEMO_PIXELS
    entries: dict = field(default_factory=dict)
    pixels: int = 0

    def get(self, key: tuple, make):
        kept = self.entries.get(key)
        if kept is not None:
            return kept
        made = make()
        size = made[0].width * made[0].height
        if self.pixels + size > self.limit:
            self.entries.clear()
            self.pixels = 0
        self.entries[key] = made
        self.pixels += size
        return made


FIT_MEMO_ENTRIES = 8192  # copy fits a fit memo holds (~130 a product set, a few kB each) before the oldest go
FIT_MEMO_NAMES = 256  # templates, font registries and asset sets it remembers the content names of


@dataclass
class FitMemo:
    """Copy fits kept by a caller between searches. `fit_copy` is a pure function of the template,
    the size, the copy, the layer choices (not the palette), the product count, the fonts and the
    assets' sizes; a campaign's product sets draw the same families (the draws follow the seed and
    the product count), so a set whose copy an earlier one had (the campaign's title, badge and
    subtitle at the same price) is fitted for nothing. Templates, font registries and asset sets
    are keyed by their content, not their identity: a campaign's templates are parsed anew for each
    product set. The oldest entries give way past `limit`."""

    limit: int = FIT_MEMO_ENTRIES
    entries: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)  # id(object) -> (the object, its content as a key)

    def name(self, obj, content: Callable[[object], object]):
        """`obj`'s content as a key, worked out once while the object lives (the entry holds it)."""
        kept = self.names.get(id(obj))
        if kept is not None and kept[0] is obj:
            return kept[1]
        if len(self.names) >= FIT_MEMO_NAMES:
            del self.names[next(iter(self.names))]
        named = self.names[id(obj)] = (obj, content(obj))
        return named[1]

    def get(self, key: tuple, make):
        kept = self.entries.get(key)
        if kept is not None:
            return kept
        made = make()
        if len(self.entries) >= self.limit:
            del self.entries[next(iter(self.entries))]  # the oldest (dicts keep insertion order)
        self.entries[key] = made
        return made


def _asset_sizes(assets: Mapping[str, Image.Image]) -> tuple:
    """What a copy fit reads of the assets: the size of each (a decoration holding text is fitted to it)."""
    return tuple(sorted((name, img.size) for name, img in assets.items()))


def _opaque(img: Image.Image) -> bool:
    return "A" not in img.getbands() or img.getchannel("A").getextrema()[0] == 255


def cover(
    img: Image.Image,
    size: tuple[int, int],
    focus: tuple[float, float] | None = None,
    target: tuple[float, float] = (0.5, 0.5),
) -> Image.Image:
    """Scale `img` to fill `size` and crop the overflow evenly (CSS object-fit: cover); RGBA. With a
    `focus` (fractions of `img`), the crop brings it to `target` (fractions of `size`, its centre
    by default) as far as the image's edges allow.

    Only the part of `img` that shows is resampled (`resize`'s box), not the whole image
    enlarged and then cropped: a scene photo covering a 1080x1920 canvas cost 60 ms, most of it
    spent on pixels cropped away. The pixels are those of enlarging the whole and cropping to
    within one level in a few percent of them (the filter's weights are computed from the box).
    """
    w, h = size
    rw, rh, left, top = _cover_crop(img.size, size, focus, target)
    sx, sy = img.width / rw, img.height / rh  # source pixels per enlarged pixel
    box = (left * sx, top * sy, (left + w) * sx, (top + h) * sy)
    return img.resize((w, h), Image.BILINEAR, box=box).convert("RGBA")


def _cover_crop(
    image_size: tuple[int, int],
    size: tuple[int, int],
    focus: tuple[float, float] | None,
    target: tuple[float, float] = (0.5, 0.5),
) -> tuple[int, int, int, int]:
    """`cover`'s enlarged size and crop offset: (enlarged width, height, left, top)."""
    w, h = size
    scale = max(w / image_size[0], h / image_size[1])
    rw, rh = max(w, round(image_size[0] * scale)), max(h, round(image_size[1] * scale))
    if focus is None:
        return rw, rh, (rw - w) // 2, (rh - h) // 2
    left = min(max(0, round(focus[0] * rw - target[0] * w)), rw - w)
    top = min(max(0, round(focus[1] * rh - target[1] * h)), rh - h)
    return rw, rh, left, top


def scene_crop(
    scene: PreparedProduct, size: tuple[int, int], zone: PixelBox | None = None
) -> tuple[Image.Image, tuple[int, int, int, int] | None, float]:
    """A scene photo covering `size`, its subject's box on it (x0, y0, x1, y1, clipped; None when the
    scene has none) and its scale (canvas pixels per photo pixel). The crop brings the subject's
    centre to the centre of `zone` (the layout's product zone, beside the copy; the canvas's centre
    without one) as far as the photo's edges allow, never enlarging it past covering the canvas (a
    closer crop lost a person's face or zoomed in on a cat's eye): a centred crop of a tall canvas
    from a wide photo showed a cat's cheek and could leave a product standing at a fifth of the
    photo's width out of the ad. When even that crop would show less than SCENE_SHOWN of the
    subject's width or height in the zone (a motorcycle across a landscape photo, in a 1080x1920
    story or beside the copy), or less than SCENE_MASS_SHOWN of all of the subject (its core box is
    a motorcycle's tank, the rest its wheels: `PreparedProduct.subject_mass`), the photo is fitted
    instead (`_fitted_scene`), all of the subject whole but for SUBJECT_TAIL of it at each side."""
    box = scene.subject_box
    if scene.on_sweep and box is not None:
        fitted = _fitted_on_sweep(scene, size, box, zone)
        if fitted is not None:
            return fitted
    focus = None
    if box is not None:
        focus = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        window = size[1] / _cover_crop(scene.image.size, size, None)[1]  # the share of the photo's height shown
        if box[3] - box[1] > window:  # the subject is cut: from below, as a photographer would (keep the head)
            focus = (focus[0], box[1] + 0.35 * window)
    zx, zy, zw, zh = zone or (0, 0, *size)
    target = ((zx + zw / 2) / size[0], (zy + zh / 2) / size[1])
    rw, rh, left, top = _cover_crop(scene.image.size, size, focus, target)
    if box is None:
        return cover(scene.image, size, focus, target), None, rw / scene.image.width
    subject = (round(box[0] * rw) - left, round(box[1] * rh) - top, round(box[2] * rw) - left, round(box[3] * rh) - top)
    if not scene.on_sweep and (
        _shown(subject, (zx, zy, zx + zw, zy + zh)) < SCENE_SHOWN
        or _mass_shown(scene, ((zx + left) / rw, (zy + top) / rh, (zx + zw + left) / rw, (zy + zh + top) / rh))
        < SCENE_MASS_SHOWN
    ):
        return _fitted_scene(scene, size, _subject_reach(box, scene.subject_mass), (zx, zy, zw, zh))
    x0, y0 = max(0, subject[0]), max(0, subject[1])
    x1, y1 = min(size[0], subject[2]), min(size[1], subject[3])
    photo = cover(scene.image, size, focus, target)
    return photo, ((x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None), rw / scene.image.width


SCENE_SHOWN = 0.85  # of a scene's subject (its width and its height) a crop must keep in the zone
SCENE_MASS_SHOWN = 0.65  # of all of a scene's subject (`PreparedProduct.subject_mass`) a crop must keep in the zone
SUBJECT_TAIL = 0.001  # of a subject's mass: what a fitted scene may leave out at each side (a stray highlight)


def _mass_shown(scene: PreparedProduct, window: tuple[float, float, float, float]) -> float:
    """The share of the subject's mass inside `window` (x0, y0, x1, y1, fractions of the photo); 1 without one.

    The two profiles multiply: exact for a cover crop, which cuts the photo along one axis only."""
    if scene.subject_mass is None:
        return 1.0
    share = 1.0
    for profile, lo, hi in zip(scene.subject_mass, (window[0], window[1]), (window[2], window[3]), strict=True):
        n = len(profile)
        cumulative = np.concatenate(([0.0], np.cumsum(profile)))
        share *= float(
            np.interp(hi * n, np.arange(n + 1), cumulative) - np.interp(lo * n, np.arange(n + 1), cumulative)
        )
    return share


def _subject_reach(
    box: tuple[float, float, float, float], mass: tuple[tuple[float, ...], tuple[float, ...]] | None
) -> tuple[float, float, float, float]:
    """The box a fitted scene shows whole: the subject's core `box` and its `mass` but for SUBJECT_TAIL at each side."""
    if mass is None:
        return box
    spans = []
    for profile, lo, hi in zip(mass, box[:2], box[2:], strict=True):
        n = len(profile)
        cumulative = np.cumsum(profile)
        first = min(lo, int(np.searchsorted(cumulative, SUBJECT_TAIL, side="right")) / n)
        last = max(hi, min(n, int(np.searchsorted(cumulative, 1 - SUBJECT_TAIL, side="left")) + 1) / n)
        spans.append((first, last))
    (x0, x1), (y0, y1) = spans
    return (x0, y0, x1, y1)


SCENE_FIT = 0.9  # of the zone's width and height: the most a fitted scene's subject takes


def _shown(subject: tuple[int, int, int, int], zone: tuple[int, int, int, int]) -> float:
    """The smaller of the shares of `subject`'s width and height that lie inside `zone` (both x0, y0, x1, y1)."""
    shares = []
    for lo, hi, zlo, zhi in ((subject[0], subject[2], zone[0], zone[2]), (subject[1], subject[3], zone[1], zone[3])):
        shares.append(max(0, min(hi, zhi) - max(lo, zlo)) / max(1, hi - lo))
    return min(shares)


def _fitted_scene(
    scene: PreparedProduct, size: tuple[int, int], box: tuple[float, float, float, float], zone: PixelBox
) -> tuple[Image.Image, tuple[int, int, int, int] | None, float]:
    """`scene_crop` for a subject the cover crop would cut: the photo scaled so the subject takes at
    most SCENE_FIT of the zone, but never so small that the photo stops spanning the zone's width or
    its height (a photo smaller than its zone both ways would float in it like a framed print), and
    extended past its edges (`_extended`), out of focus, as far as the canvas needs."""
    width, height = scene.image.size
    w, h = size
    zx, zy, zw, zh = zone
    bw, bh = max(1.0, (box[2] - box[0]) * width), max(1.0, (box[3] - box[1]) * height)
    spans_zone = min(zw / width, zh / height)
    scale = min(max(w / width, h / height), max(spans_zone, min(SCENE_FIT * zw / bw, SCENE_FIT * zh / bh)))
    return _extended(scene, size, box, zone, scale, sweep=False)


SCENE_FEATHER = 0.06  # of the canvas's short side: the blend from a fitted scene into its extension


def _feathered(placed: PixelBox, zone: PixelBox, width: float) -> Image.Image:
    """An opacity mask for a photo placed at `placed` (x, y, w, h): opaque, falling to clear over `width`
    pixels at each of its edges that lies inside `zone` (a hard seam between the sharp photo and its
    own wash read as a print laid on the canvas). Edges on or past the zone's keep their line: there
    the photo meets the copy's panel or the canvas's edge."""
    ramps = []
    width = max(1.0, min(width, 0.15 * placed[2], 0.15 * placed[3]))
    for start, length, zone_start, zone_length in (
        (placed[0], placed[2], zone[0], zone[2]),
        (placed[1], placed[3], zone[1], zone[3]),
    ):
        i = np.arange(length, dtype=np.float32) + 0.5
        ramp = np.ones(length, np.float32)
        if start > zone_start:
            ramp = np.minimum(ramp, i / width)
        if start + length < zone_start + zone_length:
            ramp = np.minimum(ramp, (length - i) / width)
        ramps.append(np.clip(ramp, 0, 1))
    return Image.fromarray(np.round(255 * np.minimum.outer(ramps[1], ramps[0])).astype(np.uint8))


def _within(position: int, start: int, length: int, extent: int) -> int:
    """`position` of something `extent` long, moved so it covers the span (`start`, `length`) when it is
    longer than it, else so it lies inside it."""
    low, high = sorted((start, start + length - extent))
    return min(max(position, low), high)


SWEEP_FIT = 0.8  # of the zone's width and height: the most a product on an extended sweep takes


def _fitted_on_sweep(
    scene: PreparedProduct, size: tuple[int, int], box: tuple[float, float, float, float], zone: PixelBox | None
) -> tuple[Image.Image, tuple[int, int, int, int] | None, float] | None:
    """`scene_crop` for a product on a plain sweep whose cover crop would cut it (a white sneaker on white
    that the cut-out could not separate, at 1200x628 cut through its sole): the photo scaled so the
    product takes at most SWEEP_FIT of the zone, centred in it, and the sweep extended past the photo's
    edges (`_extended`, blurred by 3 px, so the sensor's noise does not streak).
    None when the cover crop already shows the product whole with that margin."""
    width, height = scene.image.size
    w, h = size
    zx, zy, zw, zh = zone or (0, 0, w, h)
    bw, bh = (box[2] - box[0]) * width, (box[3] - box[1]) * height
    cover_scale = max(w / width, h / height)
    if bw * cover_scale <= SWEEP_FIT * zw and bh * cover_scale <= SWEEP_FIT * zh:
        return None
    scale = min(SWEEP_FIT * zw / bw, SWEEP_FIT * zh / bh, cover_scale)
    return _extended(scene, size, box, (zx, zy, zw, zh), scale, sweep=True)


def _extended(
    scene: PreparedProduct,
    size: tuple[int, int],
    box: tuple[float, float, float, float],
    zone: PixelBox,
    scale: float,
    sweep: bool,
) -> tuple[Image.Image, tuple[int, int, int, int] | None, float]:
    """The photo at `scale` with its subject (`box`) brought to the zone's centre, and the canvas past its
    edges filled. A plain `sweep` continues seamlessly: its edge rows and columns repeated, blurred by
    3 px so the sensor's noise does not streak. A scene is kept over all of the zone where it is longer
    than the zone and inside it where it is shorter, and continues in its own edge colours out of focus
    (`_wash`), blended into it over SCENE_FEATHER of the canvas (`_feathered`)."""
    width, height = scene.image.size
    w, h = size
    zx, zy, zw, zh = zone
    sw, sh = max(1, round(width * scale)), max(1, round(height * scale))
    photo = scene.image.convert("RGB").resize((sw, sh), Image.BILINEAR)
    cx, cy = (box[0] + box[2]) / 2 * sw, (box[1] + box[3]) / 2 * sh
    left, top = round(zx + zw / 2 - cx), round(zy + zh / 2 - cy)
    if sweep:
        edge = np.asarray(photo.filter(ImageFilter.GaussianBlur(3)))
        rows = np.clip(np.arange(h) - top, 0, sh - 1)
        columns = np.clip(np.arange(w) - left, 0, sw - 1)
        canvas = Image.fromarray(edge[rows][:, columns])
        canvas.paste(photo, (left, top))
    else:
        left, top = _within(left, zx, zw, sw), _within(top, zy, zh, sh)
        canvas = _wash(photo, size, left, top)
        canvas.paste(photo, (left, top), _feathered((left, top, sw, sh), zone, SCENE_FEATHER * min(w, h)))
    x0, y0 = max(0, round(box[0] * sw) + left), max(0, round(box[1] * sh) + top)
    x1, y1 = min(w, round(box[2] * sw) + left), min(h, round(box[3] * sh) + top)
    return canvas.convert("RGBA"), ((x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None), scale


WASH_CELL = 48  # canvas pixels a cell of a fitted scene's wash spans: coarse enough to hold no shape of the photo
WASH_FAR_BLUR = 5.0  # cells: the blur of the wash far from the photo
WASH_FAR_CELLS = 4.0  # cells from the photo over which the wash goes from its near blur to its far one


def _wash(photo: Image.Image, size: tuple[int, int], left: int, top: int) -> Image.Image:
    """The canvas past a scene photo placed at (`left`, `top`): the photo's own edge colours carried
    outward and out of focus. Made on a grid of cells about WASH_CELL px wide, lined up with the photo:
    the photo reduced to it, its edge cells repeated past it and blurred, more the farther they are
    from it (repeated straight out, the colours of a garage's shelves streaked), then enlarged. A wash
    of the whole photo enlarged to the canvas put a dark ghost of a tree above and below the tree."""
    w, h = size
    cells = (max(1, round(photo.width / WASH_CELL)), max(1, round(photo.height / WASH_CELL)))
    small = np.asarray(photo.convert("RGB").resize(cells, Image.BOX))
    axes = []
    for start, extent, photo_extent, n in ((left, w, photo.width, cells[0]), (top, h, photo.height, cells[1])):
        cell = photo_extent / n
        before = math.ceil(start / cell) + 1  # cells before the photo's first, from a cell past the canvas's edge
        index = np.arange(math.ceil((extent - start) / cell) + before + 1) - before
        outside = np.maximum(0, np.maximum(-index, index - (n - 1)))  # cells beyond the photo's edge
        axes.append((np.clip(index, 0, n - 1), outside, before - start / cell, extent / cell))
    (columns, out_x, x0, cw), (rows, out_y, y0, ch) = axes
    extended = Image.fromarray(np.ascontiguousarray(small[rows][:, columns]))
    near = np.asarray(extended.filter(ImageFilter.GaussianBlur(1.5)), np.float32)
    far = np.asarray(extended.filter(ImageFilter.GaussianBlur(WASH_FAR_BLUR)), np.float32)
    away = np.clip(np.hypot.outer(out_y, out_x) / WASH_FAR_CELLS, 0, 1)[..., None]
    grid = Image.fromarray(np.round(near + away * (far - near)).astype(np.uint8))
    return grid.resize(size, Image.BICUBIC, box=(x0, y0, x0 + cw, y0 + ch))


_STAGE_ZOOMS = (1.0, 1.15, 1.3, 1.5, 1.75, 2.0)


def _cover_on_stage(
    img: Image.Image, size: tuple[int, int], stage: Box, slot: PixelBox
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Cover-fit a background with a stage, cropped (and zoomed if need be) so the stage sits under the slot.

    The crop moves within the image to bring the stage's centre under the slot's centre and the
    middle of its top surface to the slot's bottom; when the image's edges stop it short, the
    background is enlarged step by step (up to 2x) to give the crop room. Returns the canvas-sized
    background and the stage's top surface in canvas pixels (x0, y0, x1, y1); when no zoom
    brings the stage under the slot, the centred cover and where its stage is (the score then
    sees a product that does not stand on it).
    """
    w, h = size
    cover = max(w / img.width, h / img.height)
    slot_cx, slot_bottom = slot[0] + slot[2] / 2, slot[1] + slot[3]
    best = None
    for zoom in _STAGE_ZOOMS:
        scale = cover * zoom
        rw, rh = max(w, round(img.width * scale)), max(h, round(img.height * scale))
        sx0, sy0, sw, sh = stage.x * rw, stage.y * rh, stage.w * rw, stage.h * rh
        left = min(max(0, round(sx0 + sw / 2 - slot_cx)), rw - w)
        top = min(max(0, round(sy0 + sh / 2 - slot_bottom)), rh - h)
        surface = (round(sx0 - left), round(sy0 - top), round(sx0 + sw - left), round(sy0 + sh - top))
        base = (surface[1] + surface[3]) / 2
        aligned = abs((surface[0] + surface[2]) / 2 - slot_cx) <= 0.15 * slot[2] and (
            slot[1] + 0.5 * slot[3] <= base <= slot_bottom + 0.05 * slot[3]
        )
        if best is None or aligned:
            best = (rw, rh, left, top, surface)
        if aligned:
            break
    rw, rh, left, top, surface = best if best and _aligned_ok(best, slot) else _centred(img, size, stage)
    resized = img.resize((rw, rh), Image.BILINEAR)
    return resized.crop((left, top, left + w, top + h)).convert("RGBA"), surface


def _aligned_ok(found: tuple, slot: PixelBox) -> bool:
    surface = found[4]
    base = (surface[1] + surface[3]) / 2
    return abs((surface[0] + surface[2]) / 2 - (slot[0] + slot[2] / 2)) <= 0.15 * slot[2] and (
        slot[1] + 0.5 * slot[3] <= base <= slot[1] + 1.05 * slot[3]
    )


def _centred(img: Image.Image, size: tuple[int, int], stage: Box) -> tuple:
    w, h = size
    scale = max(w / img.width, h / img.height)
    rw, rh = max(w, round(img.width * scale)), max(h, round(img.height * scale))
    left, top = (rw - w) // 2, (rh - h) // 2
    sx0, sy0, sw, sh = stage.x * rw, stage.y * rh, stage.w * rw, stage.h * rh
    return rw, rh, left, top, (round(sx0 - left), round(sy0 - top), round(sx0 + sw - left), round(sy0 + sh - top))


def _stage_slots(slot: PixelBox, stage: tuple[int, int, int, int], count: int) -> tuple[PixelBox, ...] | None:
    """Boxes whose bottoms are the middle of the stage's top surface, side by side across 90% of
    it and within the slot; None when the stage is not under the slot (the products keep theirs)."""
    x0, y0, x1, y1 = stage
    base = (y0 + y1) // 2
    if not _aligned_ok((0, 0, 0, 0, stage), slot):
        return None
    top = slot[1]
    span = min((x1 - x0) * 0.9, slot[2])
    width = span / max(1, count)
    start = (x0 + x1) / 2 - span / 2
    return tuple((round(start + i * width), top, max(1, round(width)), max(1, base - top)) for i in range(count))


def contain(
    img: Image.Image, box: PixelBox, max_scale: float, align: str = "center", valign: str = "bottom", cache=None
):
    """Scale `img` to fit in box (capped at max_scale); return (image, x, y, scale)."""
    (px, py, nw, nh), scale = contained_box(img.size, box, max_scale, align, valign)
    resized = (
        img
        if (nw, nh) == img.size
        else _memo(cache, ("contain", id(img), nw, nh), lambda: resized_to(img, (nw, nh), cache))
    )
    return resized, px, py, scale


def resized_to(img: Image.Image, size: tuple[int, int], cache: dict | None = None) -> Image.Image:
    """`img.resize(size, Image.BILINEAR, reducing_gap=2.0)`, the same pixels; for an RGBA image the
    premultiplied copy Pillow resizes ("RGBa") is made once per `cache`, not once per size.

    Pillow resizes RGBA by converting to premultiplied alpha, resizing (without the reducing
    step) and converting back: a product drawn at six sizes, and reduced for each size's scoring
    renders, was converted twelve times per search.
    """
    if img.mode != "RGBA":
        return img.resize(size, Image.BILINEAR, reducing_gap=2.0)
    rgba = _memo(cache, ("premultiplied", id(img)), functools.partial(img.convert, "RGBa"))
    return rgba.resize(size, Image.BILINEAR).convert("RGBA")


def _asset(assets: Mapping[str, Image.Image], name: str) -> Image.Image:
    try:
        return assets[name]
    except KeyError:
        known = ", ".join(sorted(assets)) or "none"
        raise AssetNotFound(f"Asset {name!r} is not available (supplied: {known}).") from None


def _shape_layer(size: tuple[int, int], box: PixelBox, colour: RGB, opacity: float, radius: float) -> Image.Image:
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    x, y, w, h = box
    r = round(radius * min(w, h))
    ImageDraw.Draw(layer).rounded_rectangle(
        (x, y, x + w - 1, y + h - 1), radius=r, fill=(*colour, round(255 * opacity))
    )
    return layer


def _burst_points(cx: float, cy: float, r: float, spikes: int = 16) -> list[tuple[float, float]]:
    pts = []
    for i in range(spikes * 2):
        rr = r if i % 2 == 0 else r * 0.82
        a = math.pi * i / spikes
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return pts


def plate_shape(kind: str, box: PixelBox, ink: tuple[int, int, int, int]):
    """A plate's shape as a box-sized L mask (255 inside, 0 out; drawn without antialiasing) and its
    extent (x0, y0, x1, y1) on the canvas, kept inside `box`."""
    bx, by, bw, bh = box
    mask = Image.new("L", (bw, bh), 0)
    d = ImageDraw.Draw(mask)
    if kind == "band":
        extent = (bx, by, bx + bw, by + bh)
        d.rectangle((0, 0, bw - 1, bh - 1), fill=255)
    elif kind == "burst":
        r = min(bw, bh) / 2
        d.polygon(_burst_points(bw / 2, bh / 2, r), fill=255)
        extent = (round(bx + bw / 2 - r), round(by + bh / 2 - r), round(bx + bw / 2 + r), round(by + bh / 2 + r))
    else:  # pill
        pad_x = max(2, round((ink[3] - ink[1]) * 0.45))
        pad_y = max(1, round((ink[3] - ink[1]) * 0.25))
        x0, y0 = max(bx, ink[0] - pad_x), max(by, ink[1] - pad_y)
        x1, y1 = min(bx + bw, ink[2] + pad_x), min(by + bh, ink[3] + pad_y)
        extent = (x0, y0, x1, y1)
        d.rounded_rectangle((x0 - bx, y0 - by, x1 - bx - 1, y1 - by - 1), radius=max(1, (y1 - y0) // 2), fill=255)
    return mask, extent


def draw_plate(
    canvas: Image.Image,
    kind: str,
    box: PixelBox,
    ink: tuple[int, int, int, int],
    colour: RGB,
    cache: dict | None = None,
):
    """Draw a plate behind text; returns its extent (x0, y0, x1, y1), kept inside `box`.

    The colour is filled through the plate's shape (`plate_shape`, kept in `cache` when given:
    a search's candidates draw the same plates in other colours). The shape is opaque or
    empty, so this leaves the pixels compositing an opaque plate would: the plate's colour
    inside, the canvas untouched outside.
    """
    bx, by, bw, bh = box
    key = ("plate", kind, box, ink if kind == "pill" else None)
    mask, extent = _memo(cache, key, functools.partial(plate_shape, kind, box, ink))
    canvas.paste((*colour, 255), (bx, by, bx + bw, by + bh), mask)
    return extent


def _dilate(mask: np.ndarray) -> np.ndarray:
    """Grow a boolean mask by one pixel (3x3), so glyph edges count as under the text."""
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    grown = out.copy()
    grown[:, 1:] |= out[:, :-1]
    grown[:, :-1] |= out[:, 1:]
    return grown


def _opaque_at(img: Image.Image) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """Where a product image is opaque (alpha > 128), and the bbox of those pixels (None if nowhere)."""
    alpha = np.asarray(img.getchannel("A")) > 128
    ys, xs = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if not len(xs):
        return alpha, None
    return alpha, (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)


def _shadow_image(w: int, h: int) -> Image.Image:
    sh = max(2, h // 14)
    blur = max(1, sh // 2)
    sw, sh_total = round(w * 0.8) + 4 * blur, sh + sh // 2 + 4 * blur
    local = Image.new("RGBA", (max(1, sw), max(1, sh_total)), (0, 0, 0, 0))
    ImageDraw.Draw(local).ellipse((2 * blur, 2 * blur, sw - 2 * blur, 2 * blur + sh + sh // 2), fill=(0, 0, 0, 70))
    return local.filter(ImageFilter.BoxBlur(blur))


def _contact_shadow(canvas: Image.Image, px: int, py: int, w: int, h: int, cache: dict | None = None) -> None:
    """A soft ellipse under the product, drawn and blurred locally (not over the whole canvas)."""
    sh = max(2, h // 14)
    blur = max(1, sh // 2)
    left, top = px + round(w * 0.1) - 2 * blur, py + h - sh - 2 * blur
    sw, sh_total = round(w * 0.8) + 4 * blur, sh + sh // 2 + 4 * blur
    local = _memo(cache, ("shadow", w, h), functools.partial(_shadow_image, w, h))
    # Clip to the canvas: alpha_composite refuses destinations outside it.
    cx0, cy0 = max(0, left), max(0, top)
    cx1, cy1 = min(canvas.width, left + sw), min(canvas.height, top + sh_total)
    if cx1 > cx0 and cy1 > cy0:
        canvas.alpha_composite(local, (cx0, cy0), (cx0 - left, cy0 - top, cx1 - left, cy1 - top))


@dataclass
class LayerContext:
    """One render's inputs and the canvas so far: what every layer renderer reads and draws into.

    Mutable on purpose: a background renderer replaces `canvas`, products add to `product_mask`,
    and each renderer appends what it drew to `elements` / `texts` (the score reads them).
    """

    size: tuple[int, int]
    palette: Palette
    choices: RenderChoices
    copy: AdCopy
    products: tuple[PreparedProduct, ...]
    scene: PreparedProduct | None
    scene_fit: str
    fitted: CopyFit
    product_zone: PixelBox | None
    assets: Mapping[str, Image.Image]
    cache: dict | None
    canvas: Image.Image | None  # None until the background layer makes it (see `render`)
    product_mask: np.ndarray
    texts: list[PlacedText] = field(default_factory=list)
    elements: list[PlacedElement] = field(default_factory=list)
    product_bboxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    max_upscale: float = 0.0
    stage: tuple[int, int, int, int] | None = None
    background_asset: Image.Image | None = None  # the asset under everything, when the background is one
    scene_subject: tuple[int, int, int, int] | None = None  # a full-bleed scene's subject on the canvas
    backdrops: dict | None = None  # the caller's memo of assets fitted to canvases, kept between renders
    text_memo: TextMemo | None = None  # the caller's memo of rasterised texts, kept between renders


def _render_background(ctx: LayerContext, layer: Layer, box: PixelBox, choice: LayerChoice) -> None:
    """The canvas itself: a full-bleed scene photo, a colour, a gradient or an asset (on its stage)."""
    size, fill, cache = ctx.size, layer.fill, ctx.cache
    if ctx.scene_fit == "full-bleed":
        scene = ctx.scene.image
        crop = functools.partial(scene_crop, ctx.scene, size, ctx.product_zone)
        photo, ctx.scene_subject, scale = _memo(cache, ("scene", id(scene), size, ctx.product_zone), crop)
        ctx.max_upscale = max(ctx.max_upscale, scale * ctx.scene.source_scale)
        ctx.canvas = photo if cache is None else photo.copy()
    elif fill is None or fill.type == "colour":
        role = fill.colour if fill else "background"
        ctx.canvas = Image.new("RGBA", size, (*ctx.palette.role(role), 255))
    elif fill.type == "gradient":
        start, end = ctx.palette.role(fill.colour), ctx.palette.role(fill.to)
        ctx.canvas = _memo_canvas(
            cache,
            ("gradient", size, start, end, fill.angle, fill.strength),
            functools.partial(gradient_image, size, start, end, fill.angle, fill.strength),
        )
    else:
        name = choice.asset or fill.asset
        source = _asset(ctx.assets, name)
        ctx.background_asset = source
        memo, shared = ctx.backdrops, cache is not None or ctx.backdrops is not None
        if fill.stage is not None and name == fill.asset and ctx.products and ctx.scene is None and ctx.product_zone:
            background, ctx.stage = _memo_backdrop(
                memo,
                cache,
                ("cover-stage", id(source), size, fill.stage, ctx.product_zone),
                source,
                functools.partial(_cover_on_stage, source, size, fill.stage, ctx.product_zone),
            )
        else:
            make = functools.partial(cover, source, size)
            background = _memo_backdrop(memo, cache, ("cover", id(source), size), source, make)
        ctx.canvas = background.copy() if shared else background


def _render_shape(ctx: LayerContext, layer: Layer, box: PixelBox, choice: LayerChoice) -> None:
    """A (rounded) rectangle in a palette colour, at the layer's opacity."""
    colour = ctx.palette.role(choice.colour or layer.colour)
    x, y, w, h = box
    inside = x >= 0 and y >= 0 and x + w <= ctx.size[0] and y + h <= ctx.size[1] and w > 0 and h > 0
    if inside and layer.opacity == 1 and round(layer.radius * min(w, h)) == 0:
        # An opaque rectangle composited over anything leaves exactly its colour: a fill does that.
        ctx.canvas.paste((*colour, 255), (x, y, x + w, y + h))
        return
    # Only an asset background can leave see-through pixels (colours, gradients and photos are opaque).
    source = ctx.background_asset
    opaque = source is None or _memo(ctx.cache, ("opaque", id(source)), functools.partial(_opaque, source))
    if opaque and inside:
        # Over opaque pixels a transparent overlay changes nothing, so only the box is composited
        # (over see-through ones alpha_composite would clear their colour: there the whole canvas is).
        overlay = _memo(
            ctx.cache,
            ("shape", w, h, colour, layer.opacity, layer.radius),
            functools.partial(_shape_layer, (w, h), (0, 0, w, h), colour, layer.opacity, layer.radius),
        )
        ctx.canvas.alpha_composite(overlay, (x, y))
    else:
        ctx.canvas.alpha_composite(_shape_layer(ctx.size, box, colour, layer.opacity, layer.radius))


def _render_product(ctx: LayerContext, layer: Layer, box: PixelBox, choice: LayerChoice) -> None:
    if ctx.scene is not None:
        _render_scene(ctx, layer, box)
    else:
        _render_cutouts(ctx, layer)


def _render_scene(ctx: LayerContext, layer: Layer, box: PixelBox) -> None:
    """A scene photo: cropped into the product's box ("cover"), or already the background ("full-bleed")."""
    scene = ctx.scene
    if ctx.scene_fit == "cover":
        x, y, w, h = _bled(box, ctx.fitted.layout) if ctx.fitted.layout.aspect_class == "banner" else box
        crop = functools.partial(scene_crop, scene, (w, h))
        photo, _, scale = _memo(ctx.cache, ("scene", id(scene.image), (w, h)), crop)
        ctx.max_upscale = max(ctx.max_upscale, scale * scene.source_scale)
        ctx.canvas.alpha_composite(photo, (x, y))
        ctx.product_mask[y : y + h, x : x + w] = True
        ctx.product_bboxes.append((x, y, x + w, y + h))
    extent = (0, 0, *ctx.size) if ctx.scene_fit == "full-bleed" else ctx.product_bboxes[-1]
    ctx.elements.append(PlacedElement(f"{layer.id}[0]", "scene", extent))


def _bled(box: PixelBox, layout: Layout) -> PixelBox:
    """A banner's scene photo taken out to the canvas's edges where only the safe margin lies between
    (top, bottom, and left when nothing is drawn before it) and up to the copy's band on its right:
    cropped into the product zone it was a print in a pale mat (a 970x250 showed 12 px of the
    palette's background round the photo), which no art director signs off."""
    x, y, w, h = box
    width, height = layout.size
    sx, sy, sw, sh = layout.safe_area
    x0 = 0 if x <= sx else x
    y0 = 0 if y <= sy else y
    y1 = height if y + h >= sy + sh else y + h
    x1 = x + w
    reach = max(sx, 0.02 * width) + 1  # the layout's gap between zones, or the margin
    for other in layout.boxes.values():  # a band behind the copy, starting just right of the zone
        ox, oy, ow, oh = other
        if x + w <= ox <= x + w + reach and oy <= 0 and oy + oh >= height:
            x1 = max(x1, ox)
    return x0, y0, x1 - x0, y1 - y0


SIZE_EXPONENT = 0.5  # drawn heights follow real heights to this power: order kept, a small product still seen


def true_scale_boxes(products: Sequence[PreparedProduct], boxes: Sequence[PixelBox]) -> list[PixelBox]:
    """Each product's box, lowered so products of known height stand in size order on one baseline.

    When every product of several gives its real height, drawn heights follow real heights to the
    power SIZE_EXPONENT: a 10 cm cup beside a 110 cm motorcycle is drawn 0.3 of its height, not
    0.09 (at true scale it would be a speck no shopper reads, and the score would refuse it as too
    small), and never larger. One scale is the largest at which each still fits its own box; each
    box keeps its bottom and width and takes its product's height at that scale. Otherwise the
    boxes are returned as they are (each product fills its own).
    """
    heights = [p.real_height_cm for p in products[: len(boxes)]]
    if len(heights) < 2 or not all(h and h > 0 for h in heights):
        return list(boxes)
    sizes = [h**SIZE_EXPONENT for h in heights]
    px_per_unit = min(
        min(w / p.image.width, h / p.image.height) * p.image.height / size
        for p, (_, _, w, h), size in zip(products, boxes, sizes, strict=False)
    )
    out = []
    for (x, y, w, h), size in zip(boxes, sizes, strict=False):
        tall = max(1, min(h, round(px_per_unit * size)))
        out.append((x, y + h - tall, w, tall))
    return out


def _render_cutouts(ctx: LayerContext, layer: Layer) -> None:
    """Each cut-out in its slot (standing on the background's stage when there is one), with its shadow."""
    zone, stage = ctx.product_zone, ctx.stage
    on_stage = _stage_slots(zone, stage, len(ctx.products)) if stage and zone else None
    slots = on_stage or ctx.fitted.layout.product_slots
    inners = []
    for slot in slots[: len(ctx.products)]:
        pad = max(1, round(0.04 * min(slot[2], slot[3])))
        # On a stage the product's base is the slot's bottom: no padding there.
        bottom_pad = 0 if on_stage else pad
        inners.append((slot[0] + pad, slot[1] + pad, slot[2] - 2 * pad, slot[3] - pad - bottom_pad))
    for index, (product, inner) in enumerate(zip(ctx.products, true_scale_boxes(ctx.products, inners), strict=False)):
        # source_scale = prepared pixels per source pixel; upscaling is judged against the source.
        img, px, py, scale = contain(product.image, inner, layer.max_upscale / product.source_scale, cache=ctx.cache)
        ctx.max_upscale = max(ctx.max_upscale, scale * product.source_scale)
        if layer.shadow:
            _contact_shadow(ctx.canvas, px, py, img.width, img.height, cache=ctx.cache)
        ctx.canvas.alpha_composite(img, (px, py))
        alpha, ink = _memo(ctx.cache, ("opaque-at", id(img)), functools.partial(_opaque_at, img))
        ctx.product_mask[py : py + img.height, px : px + img.width] |= alpha
        if ink is not None:
            bbox = (px + ink[0], py + ink[1], px + ink[2], py + ink[3])
            ctx.product_bboxes.append(bbox)
            ctx.elements.append(PlacedElement(f"{layer.id}[{index}]", "product", bbox))


def _render_asset_layer(ctx: LayerContext, layer: Layer, box: PixelBox, choice: LayerChoice) -> None:
    """A logo (left-aligned) or a decoration (centred), and the text a decoration holds."""
    name = decoration_asset(layer, choice)
    if not name:
        return
    align = "left" if layer.role == "logo" else "center"
    source = _asset(ctx.assets, name)
    if source.mode != "RGBA":
        source = source.convert("RGBA")
    img, px, py, _ = contain(source, box, 4.0, align=align, valign="middle", cache=ctx.cache)
    if layer.opacity < 1:
        img = img.copy()
        img.putalpha(img.getchannel("A").point(lambda a, o=layer.opacity: round(a * o)))
    ctx.canvas.alpha_composite(img, (px, py))
    extent = (px, py, px + img.width, py + img.height)
    ctx.elements.append(PlacedElement(layer.id, layer.role, extent, holds_text=bool(layer.holds)))
    if layer.id in ctx.fitted.texts:
        ctx.texts.append(_draw_text(ctx, ctx.fitted.texts[layer.id], layer.colour, on=extent))


def _render_text(ctx: LayerContext, layer: Layer, box: PixelBox, choice: LayerChoice) -> None:
    """A text role (title, subtitle, price, badge) the copy fitter kept, on its plate."""
    fit = ctx.fitted.texts.get(layer.id)
    if fit is None:
        return
    plate_colour = ctx.palette.role(layer.plate_colour)
    if ctx.scene is not None and (choice.plate or layer.plate) == "none":
        plate_colour = ctx.palette.background  # the pill the fitter put under copy over a photo
    colour_role = choice.colour or layer.colour
    ctx.texts.append(_draw_text(ctx, fit, colour_role, plate_colour=plate_colour, full=ctx.copy))


LayerRenderer = Callable[[LayerContext, Layer, PixelBox, LayerChoice], None]

# One renderer per layer role; every other role is text (drawn when the copy fitter kept it).
LAYER_RENDERERS: Mapping[str, LayerRenderer] = {
    "background": _render_background,
    "shape": _render_shape,
    "product": _render_product,
    "logo": _render_asset_layer,
    "decoration": _render_asset_layer,
}


def render(
    template: Template,
    size: tuple[int, int],
    *,
    products: tuple[PreparedProduct, ...],
    copy: AdCopy,
    choices: RenderChoices,
    fonts: FontRegistry,
    assets: Mapping[str, Image.Image],
    cache: dict | None = None,
    deadline: float | None = None,
    target_size: tuple[int, int] | None = None,
    backdrops: dict | None = None,
    text_memo: TextMemo | None = None,
    fits: FitMemo | None = None,
) -> Rendered:
    """Render `template` at `size`; raises AssetNotFound, FontNotFound or MissingCJKFont on bad inputs.

    Which texts are drawn, and how large, is `synthesis.copyfit.fit_copy`'s decision; what it
    left out is in `Rendered.dropped`. `target_size` is the size the creative is made for when
    this is a smaller scoring render (legible minimums are judged there).

    `cache` (optional, owned by the caller) keeps resized assets and gradients between renders
    of the same inputs, as the candidate search does; results are identical with or without it.
    `backdrops` (optional, owned by the caller and kept as long as its assets are): the asset
    backgrounds fitted to a canvas, shared by every render over those assets (see `_memo_backdrop`).
    `text_memo` (optional, owned by the caller): the texts' glyph masks, shared by every render
    (see `TextMemo`). `fits` (optional, owned by the caller): the copy fits, shared by every render
    (see `FitMemo`). With a `deadline` (time.monotonic()) the render stops between layers once it has passed
    (TimeBudgetExceeded).
    """
    width, height = size
    scene = products[0] if products and products[0].scene else None
    if scene is not None and not template.takes_scenes:
        raise SceneNotSupported(
            f"Template {template.name!r} does not show scene photos (no clean cut-out: {scene.scene_reason})."
        )
    if scene is not None and len(products) > 1 or any(p.scene for p in products[1:]):
        raise SceneNotSupported("A scene photo (no clean cut-out) is shown alone, never beside other products.")
    # The copy fit reads the layer choices, not the palette: candidates that differ only in colour share it.
    layers = tuple(sorted(choices.layers.items()))
    fit_key = (
        "fit",
        id(template),
        size,
        copy,
        choices.arrangement,
        choices.grouping,
        layers,
        len(products),
        scene is not None,
        target_size,
        id(fonts),
        id(assets),
    )
    make_fit = functools.partial(
        fit_copy,
        template,
        size,
        copy=copy,
        choices=choices,
        fonts=fonts,
        assets=assets,
        product_count=len(products),
        scene=scene is not None,
        target_size=target_size,
    )
    if fits is not None:  # the same key, with the objects named by their content
        content = (fits.name(template, repr), *fit_key[2:10], fits.name(fonts, repr), fits.name(assets, _asset_sizes))
        make_fit = functools.partial(fits.get, content, make_fit)
    fitted = _memo(cache, fit_key, make_fit)
    layout = fitted.layout
    # On a banner a full-bleed photo would sit under the band that holds the copy and not show at
    # all: there the scene is cropped into the product's zone beside the copy instead.
    scene_fit = "none" if scene is None else ("cover" if aspect_class(width, height) == "banner" else template.scene)
    product_layer = template.layer("product")
    # A background layer drawn first makes the canvas itself (a gradient or a photo replaces it
    # whole): only without one does the render start from the palette's background colour.
    first = template.layers[0] if template.layers else None
    makes_canvas = first is not None and first.role == "background" and first.id in layout.boxes
    ctx = LayerContext(
        size=size,
        palette=choices.palette,
        choices=choices,
        copy=copy,
        products=products,
        scene=scene,
        scene_fit=scene_fit,
        fitted=fitted,
        product_zone=layout.boxes.get(product_layer.id) if product_layer else None,
        assets=assets,
        cache=cache,
        backdrops=backdrops,
        text_memo=text_memo,
        canvas=None if makes_canvas else Image.new("RGBA", size, (*choices.palette.background, 255)),
        product_mask=np.zeros((height, width), dtype=bool),
    )
    for layer in template.layers:
        TimeBudgetExceeded.check(deadline, "The render")
        if layer.id in layout.boxes:
            renderer = LAYER_RENDERERS.get(layer.role, _render_text)
            renderer(ctx, layer, layout.boxes[layer.id], choices.for_layer(layer.id))

    return Rendered(
        image=ctx.canvas.convert("RGB"),
        layout=layout,
        texts=tuple(ctx.texts),
        elements=tuple(ctx.elements),
        product_mask=ctx.product_mask,
        product_bboxes=tuple(ctx.product_bboxes),
        max_upscale=ctx.max_upscale,
        warnings=(),
        stage=ctx.stage,
        scene_fit=scene_fit,
        dropped=fitted.dropped,
        scene_subject=ctx.scene_subject,
    )


def _pixels_under(canvas: Image.Image, crop_box: tuple[int, int, int, int], mask: np.ndarray) -> np.ndarray:
    """The canvas's pixels where `mask` is set in `crop_box`, one 32-bit RGBA word each.

    A boolean index over whole pixels is a fraction of the cost of one over their four bytes.
    """
    return np.asarray(canvas.crop(crop_box)).view(np.uint32)[..., 0][mask]


class _UnderText:
    """The pixels under one text (`_pixels_under`'s words), judged against lists of candidate colours
    as `best_text_colour` would judge them (alpha dropped as convert("RGB") does); their luminances
    are read once for every list (the layer's colour, then the palette's).

    Over a flat background (most texts of most candidates at the scoring size) the answer
    depends only on that pixel, how many there are and the candidates, which a search's
    candidates repeat (the same text in the same box over the same colour): it is looked up in
    the search's cache. The count is part of the key: the luminances are a matrix product,
    whose last bit can depend on the length.
    """

    def __init__(self, cache: dict | None, under: np.ndarray):
        self.cache, self.under = cache, under
        self.rgb = under.view(np.uint8).reshape(-1, 4)[:, :3]
        self.flat = cache is not None and len(under) > 0 and bool((under == under[0]).all())
        self.lum: np.ndarray | None = None

    def best(self, candidates: Sequence[RGB]) -> tuple[RGB, float]:
        if self.flat:
            key = ("contrast", int(self.under[0]), len(self.under), tuple(candidates))
            return _memo(self.cache, key, functools.partial(best_text_colour, self.rgb, candidates))
        if self.lum is None:
            self.lum = text_luminance(self.rgb)
        return best_text_colour_over(self.lum, candidates)


def _text_colour(cache: dict | None, under: np.ndarray, candidates: Sequence[RGB]) -> tuple[RGB, float]:
    """`best_text_colour` of the pixels `under` a text (`_pixels_under`'s words); see `_UnderText`."""
    return _UnderText(cache, under).best(candidates)


def _text_mask(fit: FittedText) -> tuple[Image.Image, tuple[int, int, int, int], np.ndarray]:
    """The text's glyph mask, its ink bbox and the pixels under it (grown by a pixel for the edges)."""
    mask = text_mask(fit.block, fit.text_box, fit.style)
    return mask, mask_ink_bbox(mask, fit.text_box), _dilate(np.asarray(mask) > 0)


def _draw_text(
    ctx: LayerContext,
    fit: FittedText,
    colour_role: str,
    *,
    plate_colour: RGB | None = None,
    full: AdCopy | None = None,
    on: tuple[int, int, int, int] | None = None,
) -> PlacedText:
    """Draw a fitted text (on its plate) in the palette role that reads best on the pixels under it.

    Its colour is the layer's role when that reaches AA contrast, else the best other role;
    if none does, a pill of the palette's background goes behind it. `on`: the extent of the
    decoration holding the text (its plate).
    """
    canvas, palette, elements = ctx.canvas, ctx.palette, ctx.elements
    box, text_box, plate, block = fit.box, fit.text_box, fit.plate, fit.block
    # Shaped and rasterised once per search (candidates differ mostly in colours, not in copy),
    # or once per process with the caller's text memo (product sets share their title and price).
    key, make = ("text", block, text_box, fit.style), functools.partial(_text_mask, fit)
    mask, ink, under_mask = _memo(ctx.cache, key, make) if ctx.text_memo is None else ctx.text_memo.get(key, make)
    if plate != "none":
        extent = draw_plate(canvas, plate, box, ink, plate_colour or palette.accent, ctx.cache)
        elements.append(PlacedElement(f"{fit.layer_id}.plate", "plate", extent))
    preferred = palette.role(colour_role)
    candidates = [preferred, palette.text, palette.on_primary, palette.on_accent, palette.background]
    # Contrast is judged on the pixels under the glyphs (grown by a pixel for the edges).
    crop_box = (text_box[0], text_box[1], text_box[0] + text_box[2], text_box[1] + text_box[3])
    under = _UnderText(ctx.cache, _pixels_under(canvas, crop_box, under_mask))
    colour, contrast = under.best([preferred])
    if contrast < AA_CONTRAST:
        colour, contrast = under.best(candidates)
    if contrast < AA_CONTRAST and plate == "none" and on is None:
        # Busy or mid-tone pixels under the text: put a pill of the palette behind it.
        plate = "pill"
        extent = draw_plate(canvas, "pill", box, ink, palette.background, ctx.cache)
        elements.append(PlacedElement(f"{fit.layer_id}.plate", "plate", extent))
        colour, contrast = _UnderText(ctx.cache, _pixels_under(canvas, crop_box, under_mask)).best(candidates)
    fill_text(canvas, mask, text_box, colour)
    return PlacedText(
        fit.layer_id,
        fit.role,
        text_box,
        ink,
        block,
        colour,
        contrast,
        plate,
        min_cap_px=fit.min_cap_px,
        cap_px=fit.cap_px,
        full_text=" ".join(full.for_role(fit.role).split()) if full else block.text,
    )
