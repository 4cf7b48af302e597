"""Colour maths in one place: CIELAB, CIEDE2000, WCAG contrast, theme colours and palettes.

Theme colours are found by a small weighted k-means in CIELAB (perceptual distances), with
a robust (median) centre per cluster so shading and highlights don't drag it. Palettes are
derived from the theme colour in LCh, and every text role is pushed in lightness until it
reaches WCAG 2.x AA contrast (4.5:1) against the colour it sits on.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

RGB = tuple[int, int, int]
PALETTE_ROLES = ("primary", "accent", "background", "text", "on_primary", "on_accent")
AA = 4.5

_M_RGB_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_M_XYZ_RGB = np.linalg.inv(_M_RGB_XYZ)
_WHITE = np.array([0.95047, 1.0, 1.08883])
_EPS = (6 / 29) ** 3


def hex_to_rgb(value: str) -> RGB:
    value = value.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"{value!r} is not a #rrggbb colour")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def rgb_to_hex(rgb: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb[:3]))


def _linear(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def srgb_to_lab(rgb: np.ndarray | Sequence[float]) -> np.ndarray:
    """sRGB (..., 3) in 0-255 to CIELAB (D65)."""
    if isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8:
        linear = _LINEAR_LUT64[rgb]  # pixels: looked up, the same float64s
    else:
        linear = _linear(rgb)
    xyz = linear @ _M_RGB_XYZ.T / _WHITE
    f = np.where(xyz > _EPS, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


_LINEAR_LUT = np.where(
    np.arange(256) / 255.0 <= 0.04045, np.arange(256) / 255.0 / 12.92, ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4
).astype(np.float32)


def srgb8_to_lab(rgb: np.ndarray) -> np.ndarray:
    """`srgb_to_lab` for uint8 images (H, W, 3), in float32 through a lookup table: ~5x faster on photos."""
    lin = _LINEAR_LUT[np.asarray(rgb, dtype=np.uint8)]
    xyz = lin @ (_M_RGB_XYZ.T / _WHITE[None, :]).astype(np.float32)
    f = np.cbrt(xyz)
    dark = xyz <= _EPS  # the linear toe: only the darkest pixels, so computed for them alone
    if dark.any():
        f[dark] = xyz[dark] / np.float32(3 * (6 / 29) ** 2) + np.float32(4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_srgb(lab: np.ndarray | Sequence[float]) -> np.ndarray:
    """CIELAB (..., 3) to sRGB uint8, clipped to the gamut."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE
    lin = np.clip(xyz @ _M_XYZ_RGB.T, 0.0, 1.0)
    srgb = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.clip(np.round(srgb * 255), 0, 255).astype(np.uint8)


def lch_to_rgb(lightness: float, chroma: float, hue_deg: float) -> RGB:
    h = math.radians(hue_deg)
    rgb = lab_to_srgb([lightness, chroma * math.cos(h), chroma * math.sin(h)])
    return int(rgb[0]), int(rgb[1]), int(rgb[2])


def rgb_to_lch(rgb: Sequence[int]) -> tuple[float, float, float]:
    lab = srgb_to_lab(np.asarray(rgb, dtype=np.float64))
    return float(lab[0]), float(math.hypot(lab[1], lab[2])), math.degrees(math.atan2(lab[2], lab[1])) % 360


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), vectorised over leading axes."""
    lab1, lab2 = np.asarray(lab1, dtype=np.float64), np.asarray(lab2, dtype=np.float64)
    L1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    L2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp = L2 - L1
    dCp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2)
    L_bar = (L1 + L2) / 2
    C_bar_p = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = np.where(
        c1p * c2p == 0,
        h_sum,
        np.where(np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(h_bar - 30))
        + 0.24 * np.cos(np.radians(2 * h_bar))
        + 0.32 * np.cos(np.radians(3 * h_bar + 6))
        - 0.20 * np.cos(np.radians(4 * h_bar - 63))
    )
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(C_bar_p**7 / (C_bar_p**7 + 25.0**7))
    s_l = 1 + 0.015 * (L_bar - 50) ** 2 / np.sqrt(20 + (L_bar - 50) ** 2)
    s_c = 1 + 0.045 * C_bar_p
    s_h = 1 + 0.015 * C_bar_p * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((dLp / s_l) ** 2 + (dCp / s_c) ** 2 + (dHp / s_h) ** 2 + r_t * (dCp / s_c) * (dHp / s_h))


_LUMA = np.array([0.2126, 0.7152, 0.0722])
_LINEAR_LUT64 = _linear(np.arange(256))  # `_linear` of every 8-bit value, the same float64s


def relative_luminance(rgb: np.ndarray | Sequence[int]) -> np.ndarray:
    """WCAG 2.x relative luminance of sRGB colours (..., 3) in 0-255."""
    if isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8:
        # Pixels (the text contrast reads thousands per text): their linear values looked up.
        return _LINEAR_LUT64[rgb] @ _LUMA
    return _linear(rgb) @ _LUMA


def contrast_ratio(a: np.ndarray | Sequence[int], b: np.ndarray | Sequence[int]) -> np.ndarray | float:
    """WCAG 2.x contrast ratio (1-21) between colours, broadcasting over pixels."""
    la, lb = relative_luminance(a), relative_luminance(b)
    ratio = (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)
    return float(ratio) if np.ndim(ratio) == 0 else ratio


@dataclass(frozen=True)
class ThemeColours:
    """A product's dominant colours, heaviest first (or the named one first: `by_salience`); weights sum to 1."""

    colours: tuple[RGB, ...]
    weights: tuple[float, ...]

    @property
    def theme(self) -> RGB:
        return self.colours[0]


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-column weighted median of values (N, D)."""
    order = np.argsort(values, axis=0, kind="stable")
    cum = np.cumsum(weights[order], axis=0)
    # The first index whose running total reaches half (np.searchsorted on each column: weights are >= 0).
    half = np.count_nonzero(cum < cum[-1] / 2, axis=0)
    columns = np.arange(values.shape[1])
    return values[order[half, columns], columns].astype(np.float64)


def _d2(lab: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (N, k) of colours to centres, summed channel by channel: the same
    sums as over a (N, k, 3) array, without making it."""
    d2 = (lab[:, 0, None] - centres[:, 0]) ** 2
    d2 += (lab[:, 1, None] - centres[:, 1]) ** 2
    d2 += (lab[:, 2, None] - centres[:, 2]) ** 2
    return d2


def _nearest(lab: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of each colour."""
    return np.argmin(_d2(lab, centres), axis=1)


def _nearest_d2(lab: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared distance of each colour to its nearest centre."""
    return np.min(_d2(lab, centres), axis=1)


_SHADED_SHARE = 0.3  # the darkest share of a colour's pixels taken for shading, left out of its representative


def _lit(lab: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A colour's representative: the weighted median of its lit half (lightness at or above its
    median). Shading on a curved or turned-away surface only darkens it; the colour a shopper
    names is the surface under the light."""
    order = np.argsort(lab[:, 0], kind="stable")
    cum = np.cumsum(weights[order])
    lit = lab[:, 0] >= lab[order[np.searchsorted(cum, cum[-1] * _SHADED_SHARE)], 0]
    return _weighted_median(lab[lit], weights[lit])


def theme_colours(
    pixels: np.ndarray, weights: np.ndarray | None = None, *, k: int = 5, seed: int = 0, merge_delta_e: float = 7.0
) -> ThemeColours:
    """Dominant colours of `pixels` (N, 3 uint8), weighted (e.g. by foreground alpha).

    Pixels are first pooled by colour (sRGB cells 4 levels wide, each standing for the weighted
    mean CIELAB of its pixels, weighted by their total), so the clustering sees a few hundred
    distinct colours rather than every pixel. Then weighted k-means in CIELAB with k-means++
    seeding from a seeded generator, ten Lloyd iterations, and each cluster's weighted median;
    clusters closer than `merge_delta_e` (CIEDE2000) are merged, so one shaded surface counts as
    one colour.
    """
    pixels = np.asarray(pixels).reshape(-1, 3)
    w = np.ones(len(pixels)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    keep = w > 1e-3
    pixels, w = pixels[keep], w[keep]
    if len(pixels) == 0:
        raise ValueError("no pixels to take colours from")
    q = np.asarray(pixels, dtype=np.int32) >> 2
    _, cell = np.unique((q[:, 0] << 12) | (q[:, 1] << 6) | q[:, 2], return_inverse=True)
    cell = cell.reshape(-1)
    pixel_lab = srgb_to_lab(pixels)
    w_cell = np.bincount(cell, weights=w)
    lab = np.stack([np.bincount(cell, weights=w * pixel_lab[:, d]) for d in range(3)], axis=1) / w_cell[:, None]
    w = w_cell
    rng = np.random.default_rng(seed)
    k = max(1, min(k, len(lab)))
    centres = [lab[rng.choice(len(lab), p=w / w.sum())]]
    for _ in range(1, k):
        d2 = _nearest_d2(lab, np.asarray(centres)) * w
        if d2.sum() <= 0:
            break
        centres.append(lab[rng.choice(len(lab), p=d2 / d2.sum())])
    c = np.asarray(centres)
    weighted = [w * lab[:, d] for d in range(3)]
    for _ in range(10):
        labels = _nearest(lab, c)
        mass = np.bincount(labels, weights=w, minlength=len(c))
        sums = np.stack([np.bincount(labels, weights=weighted[d], minlength=len(c)) for d in range(3)], axis=1)
        new = np.where(mass[:, None] > 0, sums / np.maximum(mass, 1e-12)[:, None], c)
        if (np.abs(new - c) <= 0.05 + 1e-5 * np.abs(c)).all():  # np.allclose(new, c, atol=0.05), without its checks
            break
        c = new
    labels = _nearest(lab, c)

    groups = [np.flatnonzero(labels == j) for j in range(len(c)) if (labels == j).any()]
    groups.sort(key=lambda g: -w[g].sum())
    merged: list[np.ndarray] = []
    medians: list[np.ndarray] = []
    for g in groups:  # heaviest first, so a small cluster joins the big one next to it
        centre = _weighted_median(lab[g], w[g])
        for i, m in enumerate(merged):
            if float(delta_e_2000(centre, medians[i])) < merge_delta_e:
                merged[i] = np.concatenate([m, g])
                medians[i] = _weighted_median(lab[merged[i]], w[merged[i]])
                break
        else:
            merged.append(g)
            medians.append(centre)
    total = w.sum()
    items = sorted(((w[m].sum() / total, _lit(lab[m], w[m])) for m in merged), key=lambda item: -item[0])
    colours = tuple(tuple(int(v) for v in lab_to_srgb(centre)) for _, centre in items)
    return ThemeColours(colours=colours, weights=tuple(float(weight) for weight, _ in items))


SALIENCE_CHROMA = 20.0  # chroma at which a colour family counts twice its area when naming a product
_ACHROMATIC = 12.0  # C* below which a colour is named by lightness (black, grey, white), not by hue
_SAME_HUE = 30.0  # degrees: shades within this hue of a family's first colour belong to it


@functools.lru_cache(maxsize=4096)
def _lch(rgb: RGB) -> tuple[float, float, float]:
    """`rgb_to_lch` of a theme colour, remembered (a theme's few colours are looked up several times)."""
    return rgb_to_lch(rgb)


def _colour_families(theme: ThemeColours) -> list[list[int]]:
    """Indexes of theme colours grouped as a shopper names them: by hue, or black / grey / white."""
    families: list[tuple[object, list[int]]] = []
    for i, colour in enumerate(theme.colours):  # heaviest first: a family is keyed by its heaviest shade
        lightness, chroma, hue = _lch(colour)
        key: object = ("achromatic", 0 if lightness < 30 else 1 if lightness < 75 else 2)
        if chroma >= _ACHROMATIC:
            key = ("hue", hue)
        for family_key, members in families:
            if family_key == key or (
                key[0] == "hue" and family_key[0] == "hue" and abs((hue - family_key[1] + 180) % 360 - 180) <= _SAME_HUE
            ):
                members.append(i)
                break
        else:
            families.append((key, [i]))
    return [members for _, members in families]


def by_salience(theme: ThemeColours) -> ThemeColours:
    """The same colours, the one a shopper would name first.

    Colours are grouped into families as people name them: shades within 30 degrees of hue
    (C* >= 12), or black / grey / white by lightness. A family's salience is
    area share x (1 + C*/SALIENCE_CHROMA), with C* its area-weighted CIELAB chroma, and the
    theme is the heaviest shade of the most salient family. A saturated family outweighs greys
    and blacks of up to about 1 + C*/20 times its area: a red motorcycle (40% red at C* 60,
    50% grey engine) is red, a navy bottle with a white label is navy, while a black product
    with a small red logo (5%) stays black and a white sneaker with a blue stripe stays white.
    A flower in four shades of orange is orange, named by its largest shade, not its most
    saturated one. The other colours follow by area.
    """
    chroma = [_lch(c)[1] for c in theme.colours]
    best, best_salience = [0], -1.0
    for members in _colour_families(theme):
        area = sum(theme.weights[i] for i in members)
        mean_chroma = sum(theme.weights[i] * chroma[i] for i in members) / max(area, 1e-9)
        salience = area * (1 + mean_chroma / SALIENCE_CHROMA)
        if salience > best_salience:
            best, best_salience = members, salience
    first = max(best, key=lambda i: theme.weights[i])
    order = [first, *(i for i in range(len(theme.colours)) if i != first)]
    return ThemeColours(colours=tuple(theme.colours[i] for i in order), weights=tuple(theme.weights[i] for i in order))


@dataclass(frozen=True)
class Palette:
    """Colours by role; templates name roles, never fixed colours."""

    name: str
    primary: RGB
    accent: RGB
    background: RGB
    text: RGB
    on_primary: RGB
    on_accent: RGB

    def role(self, name: str) -> RGB:
        if name not in PALETTE_ROLES:
            raise ValueError(f"Unknown palette role {name!r} (roles: {', '.join(PALETTE_ROLES)}).")
        return getattr(self, name)

    def as_hex(self) -> dict[str, str]:
        return {f.name: rgb_to_hex(getattr(self, f.name)) for f in fields(self) if f.name != "name"}


def readable_on(background: RGB, lightness: float, chroma: float, hue: float, target: float = AA) -> RGB:
    """A colour of the given hue whose contrast on `background` reaches `target`.

    Walks lightness away from the background's (darker on light backgrounds, lighter on dark
    ones), lowering chroma as it goes; falls back to near-black or white.
    """
    # Go towards whichever extreme contrasts more; one of them always reaches 4.58:1.
    direction = -1 if contrast_ratio((0, 0, 0), background) >= contrast_ratio((255, 255, 255), background) else 1
    light = min(lightness, 35.0) if direction < 0 else max(lightness, 80.0)
    for _ in range(40):
        colour = lch_to_rgb(light, chroma, hue)
        if contrast_ratio(colour, background) >= target:
            return colour
        light = min(100.0, max(0.0, light + direction * 3))
        chroma *= 0.92
    return (17, 17, 17) if direction < 0 else (255, 255, 255)


def _strong(lightness: float, chroma: float, lo: float = 30, hi: float = 62) -> tuple[float, float]:
    return min(hi, max(lo, lightness)), chroma


def palette_variants(theme: ThemeColours, *, n: int = 4) -> list[Palette]:
    """Harmonious palettes derived from the theme colour, in a fixed order.

    tint (light background in the product's hue), complement (accent opposite the hue),
    deep (dark background, light text), analogous (neighbouring hues), neutral (near white).
    Every text role reaches 4.5:1 against what it sits on.
    """
    L, C, h = rgb_to_lch(theme.theme)
    if C < 8:  # achromatic product: borrow the warm red-orange of e-commerce promotions
        h, C = 35.0, 0.0
    accent_c = max(45.0, C)
    pl, pc = _strong(L, max(C, 25.0))

    def make(name: str, background: RGB, primary: RGB, accent: RGB) -> Palette:
        bl = rgb_to_lch(background)[0]
        text = readable_on(background, 18 if bl >= 50 else 95, min(C, 12), h)
        return Palette(
            name=name,
            primary=primary,
            accent=accent,
            background=background,
            text=text,
            on_primary=readable_on(primary, 50, 2, h),
            on_accent=readable_on(accent, 50, 2, h),
        )

    variants = [
        make("tint", lch_to_rgb(96, min(C * 0.15, 7), h), lch_to_rgb(pl, pc, h), lch_to_rgb(58, accent_c, h + 180)),
        make("complement", lch_to_rgb(94, 9, h + 180), lch_to_rgb(pl, pc, h), lch_to_rgb(52, accent_c, h + 180)),
        make("deep", lch_to_rgb(17, min(C * 0.4, 18), h), lch_to_rgb(max(pl, 48), pc, h), lch_to_rgb(72, 55, h + 40)),
        make("analogous", lch_to_rgb(93, 12, h + 30), lch_to_rgb(pl, pc, h - 20), lch_to_rgb(62, 50, h + 45)),
        make("neutral", lch_to_rgb(97, 0.5, h), lch_to_rgb(pl, pc, h), lch_to_rgb(55, accent_c, h)),
    ]
    return variants[: max(1, n)]


@functools.lru_cache(maxsize=4096)
def _luminance_of(colour: tuple) -> float:
    """A palette colour's luminance, cached: every text of every candidate weighs the same few
    colours, and one colour's luminance costs as much as a thousand pixels'."""
    return float(relative_luminance(colour))


def text_luminance(under: np.ndarray) -> np.ndarray:
    """The luminances `best_text_colour` judges: of the pixels (..., 3) under a text, a deterministic
    subsample of about 4096 on large text boxes (it keeps the judgement cheap)."""
    under = np.asarray(under).reshape(-1, 3)
    if len(under) > 4096:
        under = under[:: len(under) // 4096 + 1]
    return relative_luminance(under)


def best_text_colour(under: np.ndarray, candidates: Sequence[RGB]) -> tuple[RGB, float]:
    """The candidate with the highest 5th-percentile contrast over the pixels `under` the text."""
    return best_text_colour_over(text_luminance(under), candidates)


def best_text_colour_over(lum: np.ndarray, candidates: Sequence[RGB]) -> tuple[RGB, float]:
    """`best_text_colour` of pixels given by their `text_luminance`: a text judged against several
    lists of candidates (its layer's colour first, then the palette's) reads its pixels once.

    Every candidate's contrasts are one array, each row's 5th percentile taken at once: the same
    numbers as candidate by candidate, in a fifth of the NumPy calls (a search judges thousands of texts).
    """
    if len(lum) == 0:
        return tuple(candidates[0]), 21.0
    lcs = np.array([_luminance_of(c) if isinstance(c, tuple) else float(relative_luminance(c)) for c in candidates])[
        :, None
    ]
    ratio = (np.maximum(lum, lcs) + 0.05) / (np.minimum(lum, lcs) + 0.05)
    k = int(0.05 * (len(lum) - 1))
    scores = np.partition(ratio, k, axis=1)[:, k].tolist()  # the 5th percentile, without a full sort
    best: tuple[RGB, float] | None = None
    for colour, score in zip(candidates, scores, strict=True):
        if best is None or score > best[1] + 1e-9:
            best = (tuple(int(v) for v in colour), score)
    return best  # type: ignore[return-value]


@functools.lru_cache(maxsize=4096)
def colour_harmony(theme: ThemeColours, palette: Palette) -> float:
    """0.6 x separation + 0.4 x hue fit, in [0, 1].

    separation = clip((dE00(product, background) - 10) / 25, 0, 1): the product must stand
    out from the background it sits on. hue fit = max over t in {0, 30, 120, 180} degrees of
    exp(-((dh - t) / 25)^2), dh the hue angle between product and accent (analogous,
    triadic and complementary pairs score high, 60-100 degree clashes low); 0.8 for an
    achromatic product, which goes with any accent.
    """
    t_lab = srgb_to_lab(np.asarray(theme.theme, dtype=np.float64))
    b_lab = srgb_to_lab(np.asarray(palette.background, dtype=np.float64))
    separation = min(1.0, max(0.0, (float(delta_e_2000(t_lab, b_lab)) - 10) / 25))
    _, tc, th = rgb_to_lch(theme.theme)
    _, ac, ah = rgb_to_lch(palette.accent)
    if tc < 8 or ac < 8:
        hue_fit = 0.8
    else:
        dh = abs((th - ah + 180) % 360 - 180)
        hue_fit = max(math.exp(-(((dh - t) / 25) ** 2)) for t in (0, 30, 120, 180))
    return 0.6 * separation + 0.4 * hue_fit


def rank_palettes(theme: ThemeColours, palettes: Sequence[Palette]) -> list[tuple[Palette, float]]:
    """Palettes with their harmony, best first (ties keep the given order)."""
    scored = [(p, colour_harmony(theme, p)) for p in palettes]
    return sorted(scored, key=lambda item: -item[1])
