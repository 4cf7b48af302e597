"""The aesthetic score (0-100) of a rendered ad, its named components, and the hard checks.

Each component is in [0, 1]; the score is 100 x the weighted mean. The weights live in
`DEFAULT_WEIGHTS` and can be replaced by any `Scorer` (the analytics app trains a CTR model
on the same components). Hard checks are pass/fail rules a creative must meet to be shown
at all (nothing off canvas, no text overflow, no text on the product, AA contrast, the copy
rules of `text_violations`); a creative that fails one is marked, whatever its score.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .colour import Palette, ThemeColours, colour_harmony, delta_e_2000, srgb_to_lab
from .render import AA_CONTRAST, Rendered
from .text import cut_keeps_whole_phrases, inner_breaks

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "readability": 2.0,
    "occlusion": 2.0,
    "overlap": 1.5,
    "alignment": 1.0,
    "balance": 1.0,
    "harmony": 1.5,
    "figure_ground": 1.5,
    "prominence": 1.5,
    "sharpness": 1.0,
    "text_fit": 1.0,
    "presentation": 3.0,
    "price_focus": 1.0,
}
MIN_PRODUCT_AREA_SHARE = 0.015  # of the canvas: a product smaller than this is a speck
MIN_PRODUCT_SIDE_SHARE = 0.05  # of the canvas's short side, on the product's short side (a bottle is narrow)
# dE00 between a product's median colour and the median colour around it under which it is lost in the
# background: a red jacket on the band of its own red measured 0.5; the next palette's darker red 11.
LOST_IN_BACKGROUND_DE = 5.0
_BOX_COVERAGE = 0.97  # opaque share of a product's extent above which it may be a photo rectangle
_BOX_RIM_SPREAD = 8.0  # dE (90th percentile) of a rim uniform enough to be a backdrop
_BOX_BUSY_RIM = 10.0  # dE (median) of a rim busy enough to be a photographed scene
_BOX_INSIDE_SHARE = 0.2  # share of the inside unlike the rim when a product sits in its backdrop

# A scorer maps the components (and any context features, e.g. "template=single-hero": 1.0,
# "palette=complement": 1.0, "aspect=square": 1.0) to a 0-100 total; the fixed weights ignore
# the context, a learned CTR model (analytics) uses it.
Scorer = Callable[[Mapping[str, float]], float]


def context_features(*, template: str, palette: str, size: tuple[int, int]) -> dict[str, float]:
    """The one-hot features besides the components that describe a creative to a learned scorer."""
    from .layout import aspect_class

    return {f"template={template}": 1.0, f"palette={palette}": 1.0, f"aspect={aspect_class(*size)}": 1.0}


@dataclass(frozen=True)
class AestheticScore:
    total: float  # 0-100
    components: Mapping[str, float]
    violations: tuple[str, ...]  # failed hard checks; empty means servable

    @property
    def passes_hard_checks(self) -> bool:
        return not self.violations


def weighted_score(components: Mapping[str, float], weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> float:
    """100 x sum(w_i c_i) / sum(w_i) over the named components."""
    total_weight = sum(weights.values())
    return 100.0 * sum(weights[k] * components[k] for k in weights) / total_weight


def _area(b: tuple[int, int, int, int]) -> int:
    return max(0, b[2] - b[0]) * max(0, b[3] - b[1])


def _intersection(a, b) -> int:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def readability(rendered: Rendered) -> float:
    """Area-weighted mean over texts of clip((C - 3) / (7 - 3), 0, 1), C = 5th-percentile contrast."""
    if not rendered.texts:
        return 1.0
    weights = np.array([max(1, _area(t.ink)) for t in rendered.texts], dtype=np.float64)
    values = np.array([min(1.0, max(0.0, (t.contrast - 3.0) / 4.0)) for t in rendered.texts])
    return float((weights * values).sum() / weights.sum())


def occlusion(rendered: Rendered) -> float:
    """1 - 4 x (share of product pixels under text ink, plates, logos or decorations), floored at 0.

    On a full-bleed scene the product is the subject of the photo (`Rendered.scene_subject`, its box):
    plates may lie on the photo, but copy across a face or an engine costs as much as across a product.
    """
    subject = rendered.product_mask
    if rendered.scene_subject is not None and not subject.any():
        x0, y0, x1, y1 = rendered.scene_subject
        subject = np.zeros_like(subject)
        subject[y0:y1, x0:x1] = True
    total = int(subject.sum())
    if total == 0:
        return 1.0
    covered = np.zeros_like(subject)
    boxes = [t.ink for t in rendered.texts] + [e.bbox for e in rendered.elements if e.role not in ("product", "scene")]
    for x0, y0, x1, y1 in boxes:
        covered[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = True
    share = float((covered & subject).sum()) / total
    return max(0.0, 1.0 - 4.0 * share)


def overlap(rendered: Rendered) -> float:
    """1 - (sum of pairwise intersections between texts, logos, decorations and products) / (their area).

    A text and its own plate are meant to overlap and are not counted.
    """
    items = [(t.layer_id, t.ink) for t in rendered.texts]
    items += [(e.layer_id.removesuffix(".plate"), e.bbox) for e in rendered.elements]
    total_area = sum(_area(b) for _, b in items) or 1
    inter = 0
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if items[i][0] != items[j][0]:
                inter += _intersection(items[i][1], items[j][1])
    return max(0.0, 1.0 - 2.0 * inter / total_area)


def alignment(rendered: Rendered) -> float:
    """exp(-40 x mean_i min_j min_k |a_ik - a_jk| / W), a over left/centre/right edges.

    In the spirit of PosterLayout's (CVPR 2023) alignment metric: each element should
    share a left edge, centre or right edge with some other element.
    """
    boxes = [t.ink for t in rendered.texts] + [e.bbox for e in rendered.elements if e.role in ("logo", "product")]
    if len(boxes) < 2:
        return 1.0
    width = rendered.layout.size[0]
    xs = np.array([[b[0], (b[0] + b[2]) / 2, b[2]] for b in boxes], dtype=np.float64)
    diffs = np.abs(xs[:, None, :] - xs[None, :, :]).min(axis=2)
    np.fill_diagonal(diffs, np.inf)
    return float(math.exp(-40.0 * diffs.min(axis=1).mean() / width))


def balance(rendered: Rendered) -> float:
    """1 - dist(centroid of element areas, canvas centre) / (0.25 x diagonal), clipped to [0, 1]."""
    boxes = [t.ink for t in rendered.texts] + [e.bbox for e in rendered.elements]
    if not boxes:
        return 1.0
    w, h = rendered.layout.size
    areas = np.array([max(1, _area(b)) for b in boxes], dtype=np.float64)
    cx = np.array([(b[0] + b[2]) / 2 for b in boxes]) @ areas / areas.sum()
    cy = np.array([(b[1] + b[3]) / 2 for b in boxes]) @ areas / areas.sum()
    dist = math.hypot(cx - w / 2, cy - h / 2) / (0.25 * math.hypot(w, h))
    return max(0.0, 1.0 - dist)


def median_rgb8(pixels: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
    """`np.median(pixels[where], axis=0)` of uint8 pixels (H, W, 3) (or (N, 3) without `where`): the
    same float64s, counted per channel instead of gathered and sorted. Every candidate's score takes
    the median of thousands of pixels (hundreds of thousands at full size), and gathering whole
    3-byte pixels through a mask cost more than the rest of the score."""
    out = np.empty(pixels.shape[-1])
    for c in range(pixels.shape[-1]):
        values = pixels[..., c] if where is None else pixels[..., c][where]
        n = values.size
        middle = ((n - 1) // 2 + 1, n // 2 + 1)  # the ranks (from 1) of the middle one or two values
        lo, hi = np.searchsorted(np.cumsum(np.bincount(values.ravel(), minlength=256)), middle)
        out[c] = (lo + hi) / 2
    return out


def figure_ground(rendered: Rendered, theme: ThemeColours) -> float:
    """clip((dE00(product colour, median colour around the products) - 10) / 25, 0, 1).

    The ring is the products' bounding box grown by 10% minus the products themselves: a red
    jacket on a red band vanishes, whatever the palette's nominal background is.
    """
    if not rendered.product_bboxes:
        return 1.0
    h, w = rendered.product_mask.shape
    x0 = min(b[0] for b in rendered.product_bboxes)
    y0 = min(b[1] for b in rendered.product_bboxes)
    x1 = max(b[2] for b in rendered.product_bboxes)
    y1 = max(b[3] for b in rendered.product_bboxes)
    gx, gy = max(1, (x1 - x0) // 10), max(1, (y1 - y0) // 10)
    x0, y0, x1, y1 = max(0, x0 - gx), max(0, y0 - gy), min(w, x1 + gx), min(h, y1 + gy)
    ring = ~rendered.product_mask[y0:y1, x0:x1]
    if not ring.any():
        return 1.0
    around = median_rgb8(np.asarray(rendered.image.crop((x0, y0, x1, y1))), ring)
    de = _colour_distance(tuple(float(v) for v in theme.theme), tuple(float(v) for v in around))
    return min(1.0, max(0.0, (de - 10.0) / 25.0))


@functools.lru_cache(maxsize=4096)
def _colour_distance(colour: tuple[float, float, float], around: tuple[float, float, float]) -> float:
    """dE00 between two sRGB colours (a product's or the theme colour, and the colour around it). Cached:
    most of a search's candidates stand on one of a few flat backgrounds, and dE00 of two colours is
    some forty NumPy calls (more than half of figure_ground's time)."""
    return float(delta_e_2000(srgb_to_lab(np.asarray(colour, float)), srgb_to_lab(np.asarray(around))))


def prominence(rendered: Rendered) -> float:
    """1 when the products cover a share s of the canvas inside the band, falling linearly outside.

    Band: [0.15, 0.55] of the canvas (banners [0.08, 0.40]); 0 at s = 0 or s >= 0.85.
    """
    w, h = rendered.layout.size
    if not rendered.product_bboxes:
        return 1.0
    share = sum(_area(b) for b in rendered.product_bboxes) / float(w * h)
    lo, hi = (0.08, 0.40) if rendered.layout.aspect_class == "banner" else (0.15, 0.55)
    if share < lo:
        return share / lo
    if share > hi:
        return max(0.0, 1.0 - (share - hi) / (0.85 - hi))
    return 1.0


PRICE_SIZE_LEAD = 1.25  # the price's cap height over the largest supporting text's (subtitle, badge)
PRICE_CONTRAST = 4.5  # WCAG AA for body text


def price_focus(rendered: Rendered) -> float:
    """How well the price reads as the offer: s x c, 1 when there is no price in the copy.

    s = min(1, (price cap height / largest subtitle or badge cap height) / 1.25): the price leads
    the supporting copy (1 when there is none); c = min(1, price contrast / 4.5). A price the
    canvas left out scores 0. Its position is the layout's: price zones sit beside the product
    or the title, inside the safe area (checked by the hard checks).
    """
    prices = [t for t in rendered.texts if t.role == "price"]
    if not prices:
        return 0.0 if any(d.reason == "price_does_not_fit" for d in rendered.dropped) else 1.0
    price = max(prices, key=lambda t: t.cap_px)
    support = [t.cap_px for t in rendered.texts if t.role in ("subtitle", "badge") and t.cap_px > 0]
    size = 1.0 if not support or price.cap_px <= 0 else min(1.0, price.cap_px / max(support) / PRICE_SIZE_LEAD)
    return size * min(1.0, price.contrast / PRICE_CONTRAST)


def sharpness(rendered: Rendered) -> float:
    """1 if no product is enlarged past its source pixels; 1 - (u - 1) / 1.5 for an upscale u > 1."""
    u = rendered.max_upscale
    return 1.0 if u <= 1.0 else max(0.0, 1.0 - (u - 1.0) / 1.5)


def text_fit(rendered: Rendered) -> float:
    """Mean over texts of fit (font size / its maximum), halved when the text had to be truncated."""
    if not rendered.texts:
        return 1.0
    return float(np.mean([t.block.fit * (0.5 if t.block.truncated else 1.0) for t in rendered.texts]))


def _boxed(rendered: Rendered, bbox: tuple[int, int, int, int]) -> bool:
    """True when a product is drawn as a rectangle that still holds its photo's backdrop or scene.

    Its extent is (nearly) all opaque (coverage >= _BOX_COVERAGE), and either its rim (the outer
    4% of the extent) is one uniform colour (90th-percentile dE to the rim's median colour
    < _BOX_RIM_SPREAD) with at least _BOX_INSIDE_SHARE of the inside more than 20 dE from it
    (a product on its backdrop), or the rim itself is busy (median dE >= _BOX_BUSY_RIM: a
    photographed scene). A box-shaped product cut out cleanly has a rim of its own shaded
    colour with its edges and highlights (median small, 90th percentile large), so it passes.
    """
    x0, y0, x1, y1 = bbox
    if x1 - x0 < 8 or y1 - y0 < 8:
        return False
    if float(rendered.product_mask[y0:y1, x0:x1].mean()) < _BOX_COVERAGE:
        return False
    pixels = np.asarray(rendered.image.crop(bbox), dtype=np.float64)
    step = max(1, round(max(pixels.shape[:2]) / 96))  # colour statistics need no more than ~96 px a side
    lab = srgb_to_lab(pixels[::step, ::step])
    h, w = lab.shape[:2]
    b = max(1, round(0.04 * min(h, w)))
    rim = np.concatenate(
        [lab[:b].reshape(-1, 3), lab[-b:].reshape(-1, 3), lab[:, :b].reshape(-1, 3), lab[:, -b:].reshape(-1, 3)]
    )
    centre = np.median(rim, axis=0)
    distance = np.linalg.norm(rim - centre, axis=1)
    if float(np.median(distance)) >= _BOX_BUSY_RIM:
        return True
    spread = float(np.percentile(distance, 90))
    inside = lab[b:-b, b:-b].reshape(-1, 3)
    return (
        spread < _BOX_RIM_SPREAD and float((np.linalg.norm(inside - centre, axis=1) > 20).mean()) >= _BOX_INSIDE_SHARE
    )


def _stands_on(bbox: tuple[int, int, int, int], stage: tuple[int, int, int, int], height: int) -> bool:
    """The product's base lies on the stage's top surface (within 3% of the canvas above it) and
    its centre is over the stage."""
    x0, _, x1, base = bbox
    sx0, sy0, sx1, sy1 = stage
    return sy0 - 0.03 * height <= base <= sy1 and sx0 <= (x0 + x1) / 2 <= sx1


def presentation_violations(rendered: Rendered) -> tuple[str, ...]:
    """How each product is shown, as a designer would judge it; each failure names the product.

    - product_too_small: its extent covers < MIN_PRODUCT_AREA_SHARE of the canvas, or its short
      side is < MIN_PRODUCT_SIDE_SHARE of the canvas's short side;
    - product_in_box: drawn as a cut-out but still in its photo's backdrop or scene (`_boxed`);
    - product_off_stage: the background has a stage (a podium) and the product floats beside,
      above or in front of it instead of standing on it (`_stands_on`);
    - product_lost_in_background: dE00(median colour of the product's pixels, median colour of the
      rest of its extent grown by 10% a side) < LOST_IN_BACKGROUND_DE (`_lost_in_background`).
    """
    w, h = rendered.layout.size
    out: list[str] = []
    for e in rendered.elements:
        if e.role != "product":
            continue
        x0, y0, x1, y1 = e.bbox
        if (x1 - x0) * (y1 - y0) < MIN_PRODUCT_AREA_SHARE * w * h or min(x1 - x0, y1 - y0) < (
            MIN_PRODUCT_SIDE_SHARE * min(w, h)
        ):
            out.append(f"product_too_small:{e.layer_id}")
        if _boxed(rendered, e.bbox):
            out.append(f"product_in_box:{e.layer_id}")
        if rendered.stage is not None and not _stands_on(e.bbox, rendered.stage, h):
            out.append(f"product_off_stage:{e.layer_id}")
        if _lost_in_background(rendered, e.bbox):
            out.append(f"product_lost_in_background:{e.layer_id}")
    return tuple(out)


def _lost_in_background(rendered: Rendered, bbox: tuple[int, int, int, int]) -> bool:
    """Whether a product is drawn in the colour of what surrounds it (see `presentation_violations`):
    `figure_ground` judges the hero's theme colour against all products' surroundings, so a second
    product in the palette's background colour went unmarked."""
    h, w = rendered.product_mask.shape
    x0, y0, x1, y1 = max(0, bbox[0]), max(0, bbox[1]), min(w, bbox[2]), min(h, bbox[3])
    if x1 <= x0 or y1 <= y0:
        return False
    gx, gy = max(1, (x1 - x0) // 10), max(1, (y1 - y0) // 10)
    ox0, oy0, ox1, oy1 = max(0, x0 - gx), max(0, y0 - gy), min(w, x1 + gx), min(h, y1 + gy)
    products = rendered.product_mask[oy0:oy1, ox0:ox1]
    own = np.zeros_like(products)
    own[y0 - oy0 : y1 - oy0, x0 - ox0 : x1 - ox0] = products[y0 - oy0 : y1 - oy0, x0 - ox0 : x1 - ox0]
    if not own.any() or products.all():
        return False
    pixels = np.asarray(rendered.image.crop((ox0, oy0, ox1, oy1)).convert("RGB"))
    product = tuple(float(v) for v in median_rgb8(pixels, own))
    around = tuple(float(v) for v in median_rgb8(pixels, ~products))
    return _colour_distance(product, around) < LOST_IN_BACKGROUND_DE


def presentation(violations: tuple[str, ...]) -> float:
    """1 when every product is shown as a designer would (no `presentation_violations`), else 0."""
    return 0.0 if violations else 1.0


TEXT_VIOLATIONS = (
    "price_truncated",
    "word_break",
    "text_below_minimum",
    "empty_plate",
    "title_smaller_than_subtitle",
    "price_does_not_fit",
    "text_cut_mid_phrase",
)
_CAP_ROUNDING = 0.05  # px: cap heights are measured on whole-pixel font sizes


def _bare(text: str) -> str:
    return "".join(text.split())


def text_violations(rendered: Rendered) -> tuple[str, ...]:
    """The copy rules a creative must keep (issue 17), each named with the layer that broke it.

    - price_truncated:<layer>: the price is cut: its block was truncated, or its drawn text
      (spaces aside) differs from the price asked for (`PlacedText.drawn_text != full_text`);
    - word_break:<layer>:<left|right>: a line break inside a word (`synthesis.text.inner_breaks`):
      between two Latin letters or digits with no space between them, or inside a run of CJK
      characters leaving one character of it alone on its line ("限时直|降");
    - text_below_minimum:<layer>:<cap px>: the drawn cap height, in px at the creative's real
      size, is under the layer's `min_cap_px` by more than 0.05 px;
    - empty_plate:<layer>: a decoration made to hold text (`holds`) or a text's plate is drawn
      with no text in it;
    - title_smaller_than_subtitle:<title layer>: title font size (px) < subtitle font size;
    - price_does_not_fit:<layer>: the price was left out because it cannot be drawn whole and
      legible even after everything else gave way (`Rendered.dropped`);
    - text_cut_mid_phrase:<layer>: a title, subtitle or badge cut with an ellipsis inside a phrase
      ("冬季新品 轻暖一…"), or whose cut copy is not recorded (`PlacedText.full_text` empty): a cut may
      only drop whole phrases, which the creative's provenance keeps (`copy_fit`).
    """
    out: list[str] = []
    for t in rendered.texts:
        if t.role == "price" and (t.block.truncated or _bare(t.drawn_text) != _bare(t.full_text or t.block.text)):
            out.append(f"price_truncated:{t.layer_id}")
        elif t.block.truncated and not cut_keeps_whole_phrases(t.full_text, t.drawn_text):
            out.append(f"text_cut_mid_phrase:{t.layer_id}")
        out += [f"word_break:{t.layer_id}:{b}" for b in inner_breaks(t.block.text, t.block.lines)]
        if t.min_cap_px and t.cap_px < t.min_cap_px - _CAP_ROUNDING:
            out.append(f"text_below_minimum:{t.layer_id}:{t.cap_px:.1f}")
    with_text = {t.layer_id for t in rendered.texts}
    for e in rendered.elements:
        if (e.holds_text and e.layer_id not in with_text) or (
            e.role == "plate" and e.layer_id.removesuffix(".plate") not in with_text
        ):
            out.append(f"empty_plate:{e.layer_id.removesuffix('.plate')}")
    title = next((t for t in rendered.texts if t.role == "title"), None)
    subtitle = next((t for t in rendered.texts if t.role == "subtitle"), None)
    if title and subtitle and title.block.font_size < subtitle.block.font_size:
        out.append(f"title_smaller_than_subtitle:{title.layer_id}")
    out += [f"price_does_not_fit:{d.layer_id}" for d in rendered.dropped if d.reason == "price_does_not_fit"]
    return tuple(out)


def hard_violations(rendered: Rendered) -> tuple[str, ...]:
    """The rules no served creative may break, each named with the layer that broke it.

    out_of_canvas, outside_safe_area, text_overflow (ink outside its box), low_contrast (< 4.5:1
    under the glyphs), text_over_product, text_overlap (text on other text, a logo, a
    decoration or another layer's plate), the copy rules of `text_violations`, and the
    products' `presentation_violations`.
    """
    w, h = rendered.layout.size
    sx, sy, sw, sh = rendered.layout.safe_area
    out: list[str] = []
    for t in rendered.texts:
        x0, y0, x1, y1 = t.ink
        bx, by, bw, bh = t.box
        if x0 < bx or y0 < by or x1 > bx + bw or y1 > by + bh:
            out.append(f"text_overflow:{t.layer_id}")
        if x0 < sx or y0 < sy or x1 > sx + sw or y1 > sy + sh:
            out.append(f"outside_safe_area:{t.layer_id}")
        if t.contrast < AA_CONTRAST:
            out.append(f"low_contrast:{t.layer_id}:{t.contrast:.2f}")
        if rendered.product_mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)].any():
            out.append(f"text_over_product:{t.layer_id}")
        others = [(o.layer_id, o.ink) for o in rendered.texts if o.layer_id != t.layer_id]
        others += [(e.layer_id, e.bbox) for e in rendered.elements if e.role in ("logo", "decoration", "plate")]
        for other_id, bbox in others:
            if other_id.removesuffix(".plate") != t.layer_id and _intersection(t.ink, bbox) > 0:
                out.append(f"text_overlap:{t.layer_id}:{other_id}")
    for e in rendered.elements:
        x0, y0, x1, y1 = e.bbox
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            out.append(f"out_of_canvas:{e.layer_id}")
        elif e.role not in ("plate", "scene") and (x0 < sx or y0 < sy or x1 > sx + sw or y1 > sy + sh):
            out.append(f"outside_safe_area:{e.layer_id}")
    return tuple(out) + text_violations(rendered) + presentation_violations(rendered)


def aesthetic_score(
    rendered: Rendered,
    *,
    theme: ThemeColours,
    palette: Palette,
    scorer: Scorer | None = None,
    context: Mapping[str, float] | None = None,
) -> AestheticScore:
    """Score a render: components in [0, 1], total 0-100, and the hard-check violations.

    `context` (see `context_features`) reaches the scorer only; the components are the render's.
    """
    components = {
        "readability": readability(rendered),
        "occlusion": occlusion(rendered),
        "overlap": overlap(rendered),
        "alignment": alignment(rendered),
        "balance": balance(rendered),
        "harmony": colour_harmony(theme, palette),
        "figure_ground": figure_ground(rendered, theme),
        "prominence": prominence(rendered),
        "sharpness": sharpness(rendered),
        "text_fit": text_fit(rendered),
        "price_focus": price_focus(rendered),
    }
    violations = hard_violations(rendered)
    components["presentation"] = presentation(tuple(v for v in violations if v.startswith("product_")))
    total = scorer({**components, **(context or {})}) if scorer else weighted_score(components)
    return AestheticScore(round(float(total), 3), {k: round(v, 4) for k, v in components.items()}, violations)
