"""Product photos on any backdrop, drawn by code, each with its true mask and body colour.

The measuring stick for cutting products out and naming their colour: every photo carries the
product's alpha (soft edge included; its shadows are not product) and the colour a shopper would
name, so a cut-out is scored by IoU and a theme colour by dE2000 with nothing labelled by hand.
Backdrops run from the plain light studio sweep through coloured, gradient, dark, wood and fabric
to real photographs (the two CC-BY sample photos scikit-learn ships, read as files): a product
standing in a blurred lifestyle scene, or a landscape with no product at all.
"""

from __future__ import annotations

import colorsys
import functools
import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .colour import RGB, delta_e_2000, srgb_to_lab
from .samples import random_body_colour

BackdropKind = Literal[
    "white", "light-grey", "plain-colour", "gradient", "dark", "wood", "fabric", "scene-photo", "landscape"
]
PhotoShape = Literal["jacket", "bottle", "sneaker", "box", "bag", "mug", "wheel", "motorcycle", "labelled-bottle"]

STUDIO_KINDS: tuple[BackdropKind, ...] = ("white", "light-grey", "plain-colour", "gradient", "dark", "wood", "fabric")
SCENE_KINDS: tuple[BackdropKind, ...] = ("scene-photo", "landscape")
KINDS: tuple[BackdropKind, ...] = STUDIO_KINDS + SCENE_KINDS
PHOTO_SHAPES: tuple[PhotoShape, ...] = (
    "jacket",
    "bottle",
    "sneaker",
    "box",
    "bag",
    "mug",
    "wheel",
    "motorcycle",
    "labelled-bottle",
)
# Shapes whose second colour covers a large share of the product (secondary_rgb is set for them).
TWO_TONE_SHAPES: tuple[PhotoShape, ...] = ("sneaker", "wheel", "motorcycle", "labelled-bottle")

_SUPERSAMPLE = 2
_LABEL_RGB = (242, 240, 232)
_BLACK_RGB = (30, 30, 33)
_INK_RGB = (48, 48, 54)


@dataclass(frozen=True, eq=False)
class LabelledPhoto:
    """One photo and its ground truth; `mask` is the product's alpha, float32 (H, W) in [0, 1]."""

    image: Image.Image  # RGB
    mask: np.ndarray
    kind: BackdropKind
    shape: PhotoShape | None  # None on a landscape
    body_rgb: RGB | None  # the colour a shopper would name: the main body before shading
    secondary_rgb: RGB | None  # the second colour of a two-tone product
    subject: bool  # False for a landscape: no product in the photo, mask all zero
    seed: int = 0


# ---------------------------------------------------------------------------------------------
# Products: parts drawn in a 100x100 design space, one colour role each.


class _Drawing:
    """Parts of one product, mapped from design units to the frame and drawn supersampled.

    Each run of parts with the same colour role is one layer; layers are composited in order,
    so later parts cover earlier ones. The silhouette is the union of all parts.
    """

    def __init__(self, size: int, *, k: float, sx: float, sy: float, origin: tuple[float, float], centre=(50, 50)):
        self.size = size
        self._fx, self._fy = k * sx * _SUPERSAMPLE, k * sy * _SUPERSAMPLE
        self._ox, self._oy = origin[0] * _SUPERSAMPLE, origin[1] * _SUPERSAMPLE
        self._cx, self._cy = centre
        self._k = k * math.sqrt(sx * sy) * _SUPERSAMPLE
        big = (size * _SUPERSAMPLE, size * _SUPERSAMPLE)
        self.silhouette = Image.new("L", big, 0)
        self._sil = ImageDraw.Draw(self.silhouette)
        self.layers: list[tuple[str, Image.Image]] = []

    def _pt(self, x: float, y: float) -> tuple[float, float]:
        return self._ox + (x - self._cx) * self._fx, self._oy + (y - self._cy) * self._fy

    def _targets(self, role: str) -> list[ImageDraw.ImageDraw]:
        if not self.layers or self.layers[-1][0] != role:
            self.layers.append((role, Image.new("L", self.silhouette.size, 0)))
        return [self._sil, ImageDraw.Draw(self.layers[-1][1])]

    def width(self, w: float) -> int:
        return max(1, round(w * self._k))

    def polygon(self, role: str, points: list[tuple[float, float]]) -> None:
        pts = [self._pt(x, y) for x, y in points]
        for d in self._targets(role):
            d.polygon(pts, fill=255)

    def ellipse(self, role: str, cx: float, cy: float, rx: float, ry: float | None = None) -> None:
        ry = rx if ry is None else ry
        box = (*self._pt(cx - rx, cy - ry), *self._pt(cx + rx, cy + ry))
        for d in self._targets(role):
            d.ellipse(box, fill=255)

    def ring(self, role: str, cx: float, cy: float, rx: float, ry: float, width: float) -> None:
        box = (*self._pt(cx - rx, cy - ry), *self._pt(cx + rx, cy + ry))
        for d in self._targets(role):
            d.ellipse(box, outline=255, width=self.width(width))

    def arc(self, role: str, cx: float, cy: float, rx: float, ry: float, start: float, end: float, width: float):
        box = (*self._pt(cx - rx, cy - ry), *self._pt(cx + rx, cy + ry))
        for d in self._targets(role):
            d.arc(box, start, end, fill=255, width=self.width(width))

    def rect(self, role: str, x0: float, y0: float, x1: float, y1: float, radius: float = 0.0) -> None:
        box = (*self._pt(x0, y0), *self._pt(x1, y1))
        for d in self._targets(role):
            d.rounded_rectangle(box, radius=radius * self._k, fill=255)

    def line(self, role: str, points: list[tuple[float, float]], width: float) -> None:
        pts = [self._pt(x, y) for x, y in points]
        w = self.width(width)
        for d in self._targets(role):
            d.line(pts, fill=255, width=w, joint="curve")
            if w > 3:  # round caps
                r = w / 2
                for x, y in (pts[0], pts[-1]):
                    d.ellipse((x - r, y - r, x + r, y + r), fill=255)


def _jacket(d: _Drawing) -> None:
    d.polygon(
        "body",
        [(35, 18), (45, 15), (55, 15), (65, 18), (82, 30), (89, 63), (78, 65), (72, 42), (72, 85), (28, 85)]
        + [(28, 42), (22, 65), (11, 63), (18, 30)],
    )
    d.polygon("body-dark", [(43, 16), (50, 24), (57, 16), (55, 15), (50, 19), (45, 15)])  # collar
    d.line("metal", [(50, 24), (50, 84)], 0.6)  # zip
    d.polygon("body-dark", [(28, 80), (72, 80), (72, 85), (28, 85)])  # hem band
    d.polygon("body-dark", [(78, 61), (89, 59), (89.6, 63), (78, 65)])  # cuffs
    d.polygon("body-dark", [(11, 63), (22, 65), (22.6, 61), (11.6, 59)])


def _bottle_body(d: _Drawing) -> None:
    d.rect("body", 36, 32, 64, 87, radius=7)
    d.polygon("body", [(37, 36), (43, 24), (57, 24), (63, 36)])
    d.rect("body", 44, 17, 56, 26)
    d.rect("body-dark", 43, 9, 57, 18, radius=1.5)  # cap


def _bottle(d: _Drawing) -> None:
    _bottle_body(d)
    d.line("body-dark", [(44, 13), (56, 13)], 0.5)


def _labelled_bottle(d: _Drawing) -> None:
    _bottle_body(d)
    d.rect("secondary", 36, 44, 64, 74)  # a wrap label: its sides are the bottle's sides
    for y, x1 in ((51, 58), (56, 54), (64, 59), (68, 52)):
        d.line("ink", [(42, y), (x1, y)], 1.4 if y == 51 else 0.9)


def _sneaker(d: _Drawing) -> None:
    d.polygon(
        "body",
        [(14, 62), (14, 50), (16, 45), (24, 44), (31, 45), (37, 40), (43, 35), (48, 35), (52, 39), (60, 44)]
        + [(71, 49), (81, 53), (87, 56), (90, 60), (90, 64), (14, 64)],
    )
    d.polygon("body-dark", [(14, 62), (14, 50), (16, 45), (21, 44.5), (20, 62)])  # heel counter
    d.polygon("body-dark", [(37, 41), (43, 36), (46, 37), (57, 45), (52, 47)])  # tongue and eyestay
    for i in range(4):
        x, y = 44 + i * 3.4, 38.5 + i * 2.0
        d.line("secondary", [(x, y), (x + 3.2, y + 1.4)], 0.9)  # laces
    d.polygon("secondary", [(12, 63), (90, 62), (92, 64.5), (89, 69), (16, 69), (12, 67)])  # sole
    d.line("body-dark", [(18, 66), (88, 65.5)], 0.5)  # the sole's seam


def _box(d: _Drawing) -> None:
    d.polygon("body", [(22, 36), (66, 36), (66, 84), (22, 84)])  # front face
    d.polygon("body-light", [(22, 36), (34, 24), (78, 24), (66, 36)])  # top, lit
    d.polygon("body-dark", [(66, 36), (78, 24), (78, 72), (66, 84)])  # side, in shade
    d.rect("secondary-small", 30, 44, 46, 52)  # a small sticker


def _bag(d: _Drawing) -> None:
    d.arc("body-dark", 50, 40, 15, 18, 180, 360, 3.2)  # the handle: its opening shows the backdrop
    d.polygon("body", [(24, 40), (76, 40), (80, 86), (20, 86)])
    d.polygon("body-dark", [(24, 40), (76, 40), (76.4, 44), (23.6, 44)])  # hem
    d.line("metal", [(32, 40), (32, 46)], 1.2)
    d.line("metal", [(68, 40), (68, 46)], 1.2)


def _mug(d: _Drawing) -> None:
    d.ring("body", 70, 55, 13, 16, 5.0)  # handle first: the body covers its left half
    d.rect("body", 27, 30, 65, 80)
    d.ellipse("body", 46, 80, 19, 5)
    d.ellipse("body-light", 46, 30, 19, 5)  # rim
    d.ellipse("body-dark", 46, 30.5, 16.5, 3.6)  # inside


def _spoked_wheel(d: _Drawing, cx: float, cy: float, r: float, *, spokes: int, tyre: str, rim: str) -> None:
    d.ring(tyre, cx, cy, r, r, r * 0.12)
    d.ring(rim, cx, cy, r * 0.885, r * 0.885, r * 0.15)
    for i in range(spokes):
        a = 2 * math.pi * i / spokes
        d.line("metal", [(cx, cy), (cx + math.cos(a) * r * 0.75, cy + math.sin(a) * r * 0.75)], r * 0.03)
    d.ellipse("metal", cx, cy, r * 0.09)


def _wheel(d: _Drawing) -> None:
    _spoked_wheel(d, 50, 50, 40, spokes=20, tyre="secondary", rim="body")


def _motorcycle(d: _Drawing) -> None:
    # Side view, facing right: wheels, engine and exhaust are grey and black (about half the
    # product); tank, fairing, tail, side panel and fender are the body colour.
    for cx in (24, 76):
        d.ring("black", cx, 68, 15, 15, 4.2)
        d.ring("metal", cx, 68, 10.8, 10.8, 1.6)
        for i in range(5):
            a = 2 * math.pi * i / 5 + 0.3
            d.line("metal", [(cx, 68), (cx + math.cos(a) * 10.5, 68 + math.sin(a) * 10.5)], 2.4)
        d.ellipse("metal", cx, 68, 3.2)
    d.line("metal", [(24, 68), (44, 58)], 3.0)  # swing arm
    d.line("chrome", [(71, 34), (76, 68)], 2.4)  # fork
    d.polygon("metal", [(38, 48), (62, 47), (64, 60), (56, 71), (42, 71), (36, 60)])  # engine
    for y in (53, 57, 61, 65):
        d.line("black", [(42, y), (58, y)], 0.9)  # fins
    d.line("chrome", [(45, 71), (30, 73), (14, 67)], 2.6)  # exhaust
    d.rect("chrome", 5, 62, 22, 69, radius=3.4)
    d.polygon("body", [(10, 31), (16, 32), (30, 36), (42, 38), (42, 47), (33, 50), (24, 46), (16, 38)])  # tail
    d.polygon("body", [(30, 46), (46, 44), (46, 52), (36, 55)])  # side panel
    tank = [(38, 40), (41, 35), (46, 31.5), (53, 30), (60, 30.5), (66, 33), (68, 38)]
    d.polygon("body", [*tank, (66, 44), (60, 48), (50, 49.5), (41, 48)])
    fairing = [(64, 30), (70, 25), (77, 24), (83, 27), (88, 33), (89, 38), (86, 43), (78, 48), (68, 49), (62, 44)]
    d.polygon("body", fairing)
    d.arc("body", 76, 68, 18, 18, 205, 335, 3.6)  # front fender
    d.polygon("body", [(58, 49), (74, 49), (68, 55), (60, 55)])  # belly pan
    d.polygon("black", [(14, 31.5), (24, 33), (36, 36.5), (40, 36), (42, 33), (36, 32), (24, 30.5), (15, 29.5)])  # seat
    d.polygon("chrome", [(72, 24.5), (77, 17), (81, 18), (83, 27), (77, 24)])  # windscreen
    d.ellipse("light", 86.5, 36, 2.2, 2.6)  # headlight
    d.line("black", [(67, 27), (70, 23), (75, 22)], 1.2)  # handlebar
    d.line("body-dark", [(48, 35), (64, 35)], 0.5)  # tank seam


_SHAPES: dict[str, Callable[[_Drawing], None]] = {
    "jacket": _jacket,
    "bottle": _bottle,
    "sneaker": _sneaker,
    "box": _box,
    "bag": _bag,
    "mug": _mug,
    "wheel": _wheel,
    "motorcycle": _motorcycle,
    "labelled-bottle": _labelled_bottle,
}
# How glossy each product is (strength of its specular streak) and how round (edge darkening).
_GLOSS = {"bottle": 0.5, "labelled-bottle": 0.5, "mug": 0.45, "motorcycle": 0.55, "wheel": 0.3, "sneaker": 0.2}
_ROUND = {"bottle": 0.28, "labelled-bottle": 0.28, "mug": 0.3, "motorcycle": 0.12, "wheel": 0.1}


@functools.cache
def _footprint(shape: PhotoShape) -> tuple[float, tuple[float, float, float, float]]:
    """(area as a share of the 100x100 design square, bbox in design units) of a shape at scale 1."""
    d = _Drawing(100, k=1.0, sx=1.0, sy=1.0, origin=(50.0, 50.0))  # one frame pixel per design unit
    _SHAPES[shape](d)
    sil = np.asarray(d.silhouette, dtype=np.float32) / 255.0
    x0, y0, x1, y1 = d.silhouette.getbbox()
    s = 1 / _SUPERSAMPLE
    return float(sil.mean()), (x0 * s, y0 * s, x1 * s, y1 * s)


def _soft(img: Image.Image) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """A supersampled part mask to an anti-aliased alpha at frame scale, with lens softness.

    Returns (alpha over box, box) for the part's bounding box in frame pixels, or None if it is empty.
    """
    box = img.getbbox()
    if box is None:
        return None
    ss, pad, size = _SUPERSAMPLE, 3, img.width // _SUPERSAMPLE
    x0, y0 = max(0, box[0] // ss - pad), max(0, box[1] // ss - pad)
    x1, y1 = min(size, -(-box[2] // ss) + pad), min(size, -(-box[3] // ss) + pad)
    small = img.crop((x0 * ss, y0 * ss, x1 * ss, y1 * ss)).reduce(ss).filter(ImageFilter.GaussianBlur(0.55))
    return np.asarray(small, dtype=np.float32) / 255.0, (x0, y0, x1, y1)


def _scaled(rgb, factor: float) -> np.ndarray:
    return np.clip(np.asarray(rgb, np.float32) * factor, 0, 255)


def _lighter(rgb, share: float) -> np.ndarray:
    c = np.asarray(rgb, np.float32)
    return c + (255.0 - c) * share


def _hsv_rgb(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)


def _de(a, b) -> float:
    return float(delta_e_2000(srgb_to_lab(np.asarray(a, float)), srgb_to_lab(np.asarray(b, float))))


def _product(
    shape: PhotoShape,
    body_rgb: RGB,
    secondary_rgb: RGB | None,
    size: int,
    placement: tuple[float, float, float, float, float],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(colour HxWx3 float32, alpha HxW float32) of one product, shaded and lit from the upper left."""
    k, sx, sy, ox, oy = placement
    _, (bx0, by0, bx1, by1) = _footprint(shape)
    d = _Drawing(size, k=k, sx=sx, sy=sy, origin=(ox, oy), centre=((bx0 + bx1) / 2, (by0 + by1) / 2))
    _SHAPES[shape](d)
    alpha = np.zeros((size, size), np.float32)
    soft = _soft(d.silhouette)
    if soft is None:
        raise ValueError(f"{shape} falls outside the frame")
    sil, (px0, py0, px1, py1) = soft
    alpha[py0:py1, px0:px1] = sil

    metal = _hsv_rgb(0.6, rng.uniform(0.02, 0.08), rng.uniform(0.42, 0.6))
    colours = {
        "body": np.asarray(body_rgb, np.float32),
        "body-dark": _scaled(body_rgb, 0.7),
        "body-light": _lighter(body_rgb, 0.14),
        "secondary": np.asarray(secondary_rgb or _LABEL_RGB, np.float32),
        "secondary-small": np.asarray(_LABEL_RGB, np.float32),
        "metal": np.asarray(secondary_rgb if shape == "motorcycle" else metal, np.float32),
        "chrome": np.asarray((196, 199, 204), np.float32),
        "black": np.asarray(_BLACK_RGB, np.float32),
        "ink": np.asarray(_INK_RGB, np.float32),
        "light": np.asarray((250, 246, 226), np.float32),
    }
    gloss = {"body": _GLOSS.get(shape, 0.15), "chrome": 0.7, "metal": 0.35, "black": 0.25}
    roundness = _ROUND.get(shape, 0.14)

    # Light falls from the upper left: a gentle gradient across the frame, ~1.0 at the centre.
    xs = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    light = (1.0 - 0.05 * xs)[None, :] * (1.0 - 0.03 * xs)[:, None]
    grain = 0.004 * rng.standard_normal((size, size), dtype=np.float32)

    # Layers composited within the product's box, premultiplied; `cover` is their union.
    premult = np.zeros((py1 - py0, px1 - px0, 3), np.float32)
    cover = np.zeros((py1 - py0, px1 - px0), np.float32)
    for role, layer in d.layers:
        soft = _soft(layer)
        if soft is None:
            continue
        a, (x0, y0, x1, y1) = soft
        sl = (slice(y0, y1), slice(x0, x1))
        local = (slice(y0 - py0, y1 - py0), slice(x0 - px0, x1 - px0))
        u = (np.arange(x0, x1, dtype=np.float32) + 0.5 - (x0 + x1) / 2) / max(1.0, (x1 - x0) / 2 - 3)
        v = (np.arange(y0, y1, dtype=np.float32) + 0.5 - (y0 + y1) / 2) / max(1.0, (y1 - y0) / 2 - 3)
        edge = np.clip((np.abs(u) - 0.4) / 0.6, 0, 1)
        shade = light[sl] * (1.0 - roundness * edge * edge * (3 - 2 * edge))[None, :] + grain[sl]
        col = colours[role][None, None, :] * shade[:, :, None]
        g = gloss.get(role.split("-")[0], 0.1)
        if g > 0 and (x1 - x0) > 12:
            streak = np.exp(-(((u + 0.5) / 0.13) ** 2))[None, :] * np.clip(1.2 - np.abs(v + 0.1), 0, 1)[:, None]
            col = col + (255.0 - col) * (g * streak)[:, :, None]
        aa = a[:, :, None]
        premult[local] = premult[local] * (1 - aa) + col * aa
        cover[local] = cover[local] * (1 - a) + a
    colour = np.broadcast_to(colours["body"], (size, size, 3)).copy()
    inside = cover > 0.02
    colour[py0:py1, px0:px1][inside] = premult[inside] / cover[inside][:, None]
    return colour, alpha


# ---------------------------------------------------------------------------------------------
# Backdrops.


def _noise(rng: np.random.Generator, size: int, cells: tuple[int, int]) -> np.ndarray:
    """Smooth value noise (size x size, unit-ish spread) from a (rows, cols) grid of random values."""
    grid = rng.standard_normal((cells[0] + 1, cells[1] + 1)).astype(np.float32)
    return np.asarray(Image.fromarray(grid).resize((size, size), Image.BICUBIC))


def _fill(rgb, size: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(rgb, np.float32), (size, size, 3)).copy()


def _falloff(size: int, strength: float, centre=(0.5, 0.42)) -> np.ndarray:
    """A studio light pool: 1 at the centre, 1 - strength in the far corners."""
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)
    r2 = (t[None, :] - centre[0]) ** 2 + (t[:, None] - centre[1]) ** 2
    return (1.0 - strength * np.clip(r2 / 0.5, 0, 1))[:, :, None]


def _far_from(body_rgb: RGB, pick: Callable[[], RGB], minimum: float = 14.0) -> RGB:
    """A backdrop colour at least `minimum` dE2000 from the product (a few draws, then the farthest)."""
    best, best_de = None, -1.0
    for _ in range(8):
        c = pick()
        de = _de(c, body_rgb)
        if de >= minimum:
            return c
        if de > best_de:
            best, best_de = c, de
    return best  # type: ignore[return-value]


def _plain_colour(rng, size, body_rgb) -> np.ndarray:
    body_h = colorsys.rgb_to_hsv(*(c / 255 for c in body_rgb))[0]
    near = rng.random() < 0.35  # a hue close to the product's, but not equal

    def pick() -> RGB:
        h = body_h + rng.choice([-1, 1]) * rng.uniform(0.05, 0.11) if near else rng.random()
        return _hsv_rgb(h, rng.uniform(0.45, 0.9), rng.uniform(0.45, 0.95))

    return _fill(_far_from(body_rgb, pick), size) * _falloff(size, rng.uniform(0.05, 0.12))


def _gradient(rng, size, body_rgb) -> np.ndarray:
    saturated = rng.random() < 0.45

    def pick() -> RGB:
        if saturated:
            return _hsv_rgb(rng.random(), rng.uniform(0.45, 0.85), rng.uniform(0.5, 0.95))
        return _hsv_rgb(rng.random(), rng.uniform(0.03, 0.25), rng.uniform(0.72, 0.97))

    c1 = np.asarray(_far_from(body_rgb, pick), np.float32)
    c2 = np.asarray(_far_from(body_rgb, pick), np.float32)
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)
    if rng.random() < 0.5:  # linear, any angle
        a = rng.uniform(0, 2 * math.pi)
        g = (t[None, :] - 0.5) * math.cos(a) + (t[:, None] - 0.5) * math.sin(a)
        g = (g - g.min()) / (g.max() - g.min())
    else:  # radial, from a point near the top half
        cx, cy = rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.55)
        g = np.clip(np.sqrt((t[None, :] - cx) ** 2 + (t[:, None] - cy) ** 2) / rng.uniform(0.6, 0.9), 0, 1)
    return c1 * (1 - g[:, :, None]) + c2 * g[:, :, None]


def _dark(rng, size, body_rgb) -> np.ndarray:
    base = _hsv_rgb(rng.uniform(0.5, 0.7), rng.uniform(0.0, 0.15), rng.uniform(0.06, 0.18))
    img = _fill(base, size) * _falloff(size, rng.uniform(0.45, 0.7), centre=(0.5, rng.uniform(0.35, 0.55)))
    return img + 4.0 * _noise(rng, size, (6, 6))[:, :, None]


def _wood(rng, size, body_rgb) -> np.ndarray:
    light = np.asarray(_hsv_rgb(rng.uniform(0.06, 0.1), rng.uniform(0.35, 0.6), rng.uniform(0.55, 0.85)), np.float32)
    dark = light * rng.uniform(0.55, 0.7)
    t = np.arange(size, dtype=np.float32)
    plank_h = size * rng.uniform(0.18, 0.34)
    img = np.empty((size, size, 3), np.float32)
    turb = _noise(rng, size, (4, 3)) * size * 0.02
    grain = _noise(rng, size, (max(8, size // 3), 6))  # fine fibres, stretched along the planks
    seams = np.arange(-rng.uniform(0, plank_h), size + plank_h, plank_h)
    for y0 in seams:
        ys = slice(max(0, int(y0)), min(size, int(y0 + plank_h)))
        if ys.start >= ys.stop:
            continue
        cy, cx = y0 + rng.uniform(-2.0, 3.0) * plank_h, rng.uniform(-0.5, 1.5) * size
        r = np.sqrt((t[ys, None] - cy) ** 2 + (0.07 * (t[None, :] - cx)) ** 2) + turb[ys]
        rings = 0.5 + 0.5 * np.sin(2 * math.pi * r / rng.uniform(9.0, 18.0) * size / 800)
        late = rings**3 * 0.8 + 0.12 * grain[ys]
        tone = rng.uniform(0.92, 1.06)
        img[ys] = (light * (1 - late[:, :, None]) + dark * late[:, :, None]) * tone
        img[ys.start : ys.start + max(1, size // 400)] *= 0.6  # the seam between planks
    return img * _falloff(size, 0.12)


def _fabric(rng, size, body_rgb) -> np.ndarray:
    if rng.random() < 0.35:  # concrete: mottled grey with pores
        base = _fill(_hsv_rgb(rng.uniform(0.05, 0.6), rng.uniform(0.0, 0.06), rng.uniform(0.5, 0.78)), size)
        mottle = 9 * _noise(rng, size, (5, 5)) + 5 * _noise(rng, size, (20, 20)) + 3 * _noise(rng, size, (90, 90))
        pores = (rng.random((size, size)) < 0.003).astype(np.float32)
        pores = (
            np.asarray(
                Image.fromarray((pores * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8)), np.float32
            )
            / 255
        )
        return (base + mottle[:, :, None]) * (1 - 1.5 * pores[:, :, None]) * _falloff(size, 0.1)
    # Linen: warp and weft threads a few pixels apart, with slubs (thicker stretches) along each.
    hue = rng.choice([0.08, 0.1, 0.12, 0.55, 0.6, 0.3, 0.95])
    base = _fill(_hsv_rgb(hue, rng.uniform(0.05, 0.3), rng.uniform(0.55, 0.9)), size)
    p = rng.uniform(3.5, 6.0) * size / 800
    t = np.arange(size, dtype=np.float32)
    warp = np.sin(2 * math.pi * t / p)[None, :] ** 2 * (1 + 0.6 * _noise(rng, size, (6, max(8, size // 6))))
    weft = np.sin(2 * math.pi * t / (p * 1.07))[:, None] ** 2 * (1 + 0.6 * _noise(rng, size, (max(8, size // 6), 6)))
    weave = 0.5 * (warp + weft) - 0.5
    wrinkles = _noise(rng, size, (3, 4))
    return base * (1 + 0.09 * weave + 0.035 * wrinkles)[:, :, None]


@functools.cache
def _real_photo(name: str) -> np.ndarray:
    """One of the sample photographs scikit-learn ships (read as a file; sklearn is not imported)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("The scene photos come with scikit-learn (a runtime requirement); install it.")
    path = Path(spec.origin).parent / "datasets" / "images" / name
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _photo_crop(rng, size: int, name: str, *, share: tuple[float, float], blur: tuple[float, float]) -> np.ndarray:
    photo = _real_photo(name)
    h, w = photo.shape[:2]
    side = int(min(h, w) * rng.uniform(*share))
    y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = Image.fromarray(photo[y0 : y0 + side, x0 : x0 + side])
    if rng.random() < 0.5:
        crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
    crop = crop.resize((size, size), Image.BICUBIC).filter(ImageFilter.GaussianBlur(rng.uniform(*blur) * size / 800))
    return np.asarray(crop, np.float32) * rng.uniform(0.92, 1.06)


def _scene(rng, size, body_rgb) -> np.ndarray:
    # A lifestyle shot: the product in focus, the scene behind it soft (depth of field).
    return _photo_crop(rng, size, str(rng.choice(["china.jpg", "flower.jpg"])), share=(0.5, 1.0), blur=(2.0, 5.0))


_BACKDROPS: dict[str, Callable[[np.random.Generator, int, RGB], np.ndarray]] = {
    "white": lambda rng, size, body: _fill(_hsv_rgb(0.1, 0.01, rng.uniform(0.955, 0.99)), size) * _falloff(size, 0.04),
    "light-grey": lambda rng, size, body: (
        _fill(_hsv_rgb(rng.choice([0.08, 0.6]), rng.uniform(0.0, 0.04), rng.uniform(0.83, 0.93)), size)
        * _falloff(size, 0.06)
    ),
    "plain-colour": _plain_colour,
    "gradient": _gradient,
    "dark": _dark,
    "wood": _wood,
    "fabric": _fabric,
    "scene-photo": _scene,
}


# ---------------------------------------------------------------------------------------------
# Placement and shadows.


def _placement(rng, shape: PhotoShape, kind: BackdropKind, size: int):
    """(k, sx, sy, x, y): design-unit scale, aspect stretch and the frame point the product's centre goes to."""
    area0, (bx0, by0, bx1, by1) = _footprint(shape)
    sx, sy = rng.uniform(0.92, 1.08), rng.uniform(0.92, 1.08)
    roll = rng.random()
    if kind == "scene-photo":
        mode, share = "normal", rng.uniform(0.15, 0.45)
    elif roll < 0.15:
        mode, share = "small", rng.uniform(0.05, 0.10)
    elif roll < 0.32:
        mode, share = "cropped", rng.uniform(0.25, 0.45)
    else:
        mode, share = "normal", rng.uniform(0.15, 0.42)
    # area0 is the share of the design square at scale 1; scale to the wanted share of the frame.
    scale = math.sqrt(share / (area0 * sx * sy))
    bw, bh = (bx1 - bx0) * scale * sx / 100, (by1 - by0) * scale * sy / 100  # bbox as a share of the side
    if mode != "cropped":
        fit = min(1.0, 0.92 / max(bw, bh))
        scale, bw, bh = scale * fit, bw * fit, bh * fit
    cx = 0.5 + rng.uniform(-1, 1) * max(0.0, 0.46 - bw / 2) * 0.6
    cy = 0.5 + rng.uniform(-1, 1) * max(0.0, 0.46 - bh / 2) * 0.6
    if mode == "cropped":  # 10-35% of the product lies beyond one edge of the frame
        out = rng.uniform(0.1, 0.35)
        edge = int(rng.integers(4))
        if edge == 0:
            cx = bw / 2 - out * bw
        elif edge == 1:
            cx = 1 - bw / 2 + out * bw
        elif edge == 2:
            cy = 1 - bh / 2 + out * bh
        else:
            cy = bh / 2 - out * bh
    return size * scale / 100, sx, sy, cx * size, cy * size


def _shadows(rng, alpha: np.ndarray, size: int) -> np.ndarray:
    """How much the backdrop darkens (0..1): a contact shadow under the product, sometimes a cast one."""
    box = Image.fromarray((alpha > 0.5).astype(np.uint8)).getbbox() or (0, 0, size, size)
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    shadow = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(shadow)
    d.ellipse((x0 + 0.02 * w, y1 - 0.035 * h, x1 - 0.02 * w, y1 + 0.05 * h), fill=int(255 * rng.uniform(0.35, 0.6)))
    d.ellipse((x0 + 0.12 * w, y1 - 0.015 * h, x1 - 0.12 * w, y1 + 0.015 * h), fill=int(255 * rng.uniform(0.55, 0.75)))
    contact = np.asarray(shadow.filter(ImageFilter.GaussianBlur(max(2.0, 0.02 * max(w, h)))), np.float32) / 255
    cast = np.zeros_like(contact)
    if rng.random() < 0.45:  # a key light to one side throws the silhouette onto the backdrop
        side = rng.choice([-1, 1])
        dx, dy = side * rng.uniform(0.04, 0.1) * w, rng.uniform(0.01, 0.05) * h
        sil = Image.fromarray(np.round(alpha * 255).astype(np.uint8))
        shear = side * rng.uniform(0.0, 0.25)
        # Affine: output (x, y) samples input (x - dx - shear*(y - y1), y - dy); the base stays in place.
        moved = sil.transform((size, size), Image.AFFINE, (1, shear, -dx - shear * y1, 0, 1, -dy), Image.BILINEAR)
        blur = rng.uniform(0.015, 0.04) * max(w, h)
        cast = np.asarray(moved.filter(ImageFilter.GaussianBlur(blur)), np.float32) / 255 * rng.uniform(0.2, 0.38)
    return np.clip(contact + cast, 0.0, 0.85)


# ---------------------------------------------------------------------------------------------
# The public API.


def _secondary(shape: PhotoShape, rng: np.random.Generator) -> RGB | None:
    if shape == "labelled-bottle":
        return _LABEL_RGB
    if shape == "sneaker":
        return _hsv_rgb(0.1, rng.uniform(0.0, 0.06), rng.uniform(0.9, 0.96))
    if shape == "wheel":
        return _BLACK_RGB
    if shape == "motorcycle":  # the engine and frame grey; tyres and seat are black
        return _hsv_rgb(0.6, rng.uniform(0.02, 0.08), rng.uniform(0.42, 0.6))
    return None


def labelled_photo(
    kind: BackdropKind,
    *,
    shape: PhotoShape,
    body_rgb: RGB,
    seed: int,
    size: int = 800,
    shadows: bool = True,
) -> LabelledPhoto:
    """One photo of `shape` in `body_rgb` on a `kind` backdrop, with its true mask; same seed, same photo.

    `kind="landscape"` is a real photo with no product: `shape` and `body_rgb` are ignored and the
    result has `subject=False`, `shape=None`, `body_rgb=None` and an all-zero mask. `shadows=False`
    draws the same photo without its shadows (for tests). Raises ValueError on an unknown kind or shape.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown backdrop kind {kind!r}; one of {', '.join(KINDS)}")
    rng = np.random.default_rng(seed)
    if kind == "landscape":
        img = _photo_crop(rng, size, "china.jpg", share=(0.3, 0.8), blur=(0.3, 1.2))
        img = img + 1.2 * rng.standard_normal(img.shape, dtype=np.float32)
        image = Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8))
        return LabelledPhoto(image, np.zeros((size, size), np.float32), kind, None, None, None, False, seed)
    if shape not in _SHAPES:
        raise ValueError(f"unknown product shape {shape!r}; one of {', '.join(PHOTO_SHAPES)}")
    body_rgb = tuple(int(c) for c in body_rgb)  # type: ignore[assignment]
    secondary = _secondary(shape, rng)
    backdrop = _BACKDROPS[kind](rng, size, body_rgb)
    image, alpha = _photographed(rng, backdrop, shape, body_rgb, secondary, kind, shadows)
    return LabelledPhoto(image, alpha, kind, shape, body_rgb, secondary, True, seed)


def product_on_backdrop(
    backdrop: Image.Image, *, shape: PhotoShape, body_rgb: RGB, seed: int
) -> tuple[Image.Image, np.ndarray]:
    """`shape` in `body_rgb` photographed on a square `backdrop` of your own, as on a studio one
    (placement, shadows, noise), and its true mask: for backdrops this generator does not draw."""
    rng = np.random.default_rng(seed)
    body_rgb = tuple(int(c) for c in body_rgb)  # type: ignore[assignment]
    return _photographed(
        rng, np.asarray(backdrop.convert("RGB"), np.float32), shape, body_rgb, _secondary(shape, rng), "white", True
    )


def _photographed(rng, backdrop: np.ndarray, shape, body_rgb, secondary, kind, shadows: bool):
    size = backdrop.shape[0]
    colour, alpha = _product(shape, body_rgb, secondary, size, _placement(rng, shape, kind, size), rng)
    shade = _shadows(rng, alpha, size)
    if shadows:
        backdrop = backdrop * (1.0 - shade[:, :, None])
    img = backdrop * (1.0 - alpha[:, :, None]) + colour * alpha[:, :, None]
    img = img + 1.2 * rng.standard_normal(img.shape, dtype=np.float32)  # sensor noise, product and backdrop alike
    return Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8)), alpha


def random_photo_body_colour(shape: PhotoShape, rng: np.random.Generator) -> RGB:
    """A body colour for `shape` as `photo_set` draws them (saturated paint for wheels and motorcycles)."""
    if shape in ("motorcycle", "wheel"):  # painted metal: saturated
        return _hsv_rgb(rng.random(), rng.uniform(0.6, 0.95), rng.uniform(0.45, 0.9))
    if shape == "labelled-bottle" and rng.random() < 0.5:  # navy, bottle green, burgundy
        return _hsv_rgb(rng.choice([0.62, 0.4, 0.97]) + rng.uniform(-0.03, 0.03), rng.uniform(0.5, 0.85), 0.35)
    return random_body_colour(rng)


def photo_set(*, per_kind: int, size: int = 800, seed: int = 2026) -> list[LabelledPhoto]:
    """`per_kind` photos of every backdrop kind, all product shapes in turn; the same list for the same seed."""
    rng = np.random.default_rng(seed)
    photos = []
    for k, kind in enumerate(KINDS):
        for i in range(per_kind):
            shape = PHOTO_SHAPES[(i + 2 * k) % len(PHOTO_SHAPES)]
            body = random_photo_body_colour(shape, rng)
            photos.append(labelled_photo(kind, shape=shape, body_rgb=body, seed=int(rng.integers(2**31)), size=size))
    return photos


def contact_sheet(photos: list[LabelledPhoto], *, columns: int = 4, thumb: int = 180) -> Image.Image:
    """Photos beside their masks (white = product), captioned with kind and shape, for a person to check."""
    font = ImageFont.load_default()
    cell_w, cell_h = 2 * thumb + 12, thumb + 18
    rows = math.ceil(len(photos) / columns)
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), (255, 255, 255))
    d = ImageDraw.Draw(sheet)
    for i, p in enumerate(photos):
        x, y = (i % columns) * cell_w, (i // columns) * cell_h
        sheet.paste(p.image.resize((thumb, thumb), Image.BILINEAR), (x, y + 16))
        mask = Image.fromarray(np.round(p.mask * 255).astype(np.uint8)).resize((thumb, thumb), Image.BILINEAR)
        sheet.paste(mask.convert("RGB"), (x + thumb + 2, y + 16))
        d.text((x + 2, y + 2), f"{p.kind} / {p.shape or 'no product'}", fill=(0, 0, 0), font=font)
    return sheet
