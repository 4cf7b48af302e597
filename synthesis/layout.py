"""Size matching: where each layer goes on a canvas of a given size, for 1-4 products.

One template renders at any size from 320x50 to 1080x1920. The canvas falls into an aspect
class (banner, wide, square, tall); a layer's box comes from the template's own box for
that class when the designer drew one, otherwise from the class's arrangement: a wide
banner puts the product beside the text, a tall canvas above it. Product zones split into
slots for several products (row, grid, hero plus secondary). Auto zones never overlap
each other and stay inside the safe margin, so text never covers a product by design;
`synthesis.score` checks the drawn result anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .spec import ARRANGEMENTS, Box, Layer, Template

PixelBox = tuple[int, int, int, int]  # x, y, w, h in canvas pixels

# Auto zones in fractions of the safe area, per aspect class and arrangement. Badge-aware
# rows shrink the title so a badge in the corner never sits on it.
_ZONES: dict[str, dict[str, Box]] = {
    "square/stack": {
        "logo": Box(0.0, 0.0, 0.28, 0.09),
        "badge": Box(0.75, 0.0, 0.25, 0.16),
        "title": Box(0.0, 0.11, 1.0, 0.17),
        "subtitle": Box(0.0, 0.29, 1.0, 0.07),
        "product": Box(0.0, 0.38, 1.0, 0.47),
        "price": Box(0.0, 0.87, 0.55, 0.13),
        "decoration": Box(0.80, 0.86, 0.20, 0.14),
        "shape": Box(0.0, 0.85, 1.0, 0.15),
    },
    "square/split": {
        "logo": Box(0.0, 0.0, 0.26, 0.09),
        "title": Box(0.0, 0.14, 0.46, 0.32),
        "subtitle": Box(0.0, 0.48, 0.46, 0.12),
        "price": Box(0.0, 0.63, 0.46, 0.14),
        "badge": Box(0.0, 0.82, 0.30, 0.18),
        "product": Box(0.50, 0.0, 0.50, 1.0),
        "decoration": Box(0.34, 0.84, 0.14, 0.16),
        "shape": Box(0.0, 0.0, 0.48, 1.0),
    },
    "tall/stack": {
        "logo": Box(0.0, 0.0, 0.34, 0.06),
        "badge": Box(0.72, 0.0, 0.28, 0.11),
        "title": Box(0.0, 0.08, 1.0, 0.14),
        "subtitle": Box(0.0, 0.23, 1.0, 0.06),
        "product": Box(0.0, 0.31, 1.0, 0.50),
        "price": Box(0.0, 0.84, 0.62, 0.10),
        "decoration": Box(0.76, 0.84, 0.24, 0.16),
        "shape": Box(0.0, 0.82, 1.0, 0.18),
    },
    "wide/split": {
        "product": Box(0.0, 0.0, 0.47, 1.0),
        "logo": Box(0.52, 0.0, 0.25, 0.14),
        "badge": Box(0.82, 0.0, 0.18, 0.25),
        "title": Box(0.52, 0.27, 0.48, 0.31),
        "subtitle": Box(0.52, 0.60, 0.48, 0.12),
        "price": Box(0.52, 0.75, 0.34, 0.21),
        "decoration": Box(0.88, 0.78, 0.12, 0.22),
        "shape": Box(0.50, 0.0, 0.50, 1.0),
    },
}


def _mirror(zones: Mapping[str, Box]) -> dict[str, Box]:
    return {role: Box(1.0 - b.x - b.w, b.y, b.w, b.h) for role, b in zones.items()}


_ZONES["wide/split-reverse"] = _mirror(_ZONES["wide/split"])


@dataclass(frozen=True)
class Layout:
    """Pixel boxes for one render: per layer id, plus one slot per product."""

    size: tuple[int, int]
    aspect_class: str
    arrangement: str
    safe_area: PixelBox
    boxes: Mapping[str, PixelBox]
    product_slots: tuple[PixelBox, ...]


def aspect_class(width: int, height: int) -> str:
    """banner (>= 2.5:1), wide (>= 1.25:1), square (down to 4:5), tall (narrower than 4:5)."""
    ratio = width / height
    if ratio >= 2.5:
        return "banner"
    if ratio >= 1.25:
        return "wide"
    if ratio >= 0.78:
        return "square"
    return "tall"


def _to_pixels(box: Box, area: PixelBox) -> PixelBox:
    ax, ay, aw, ah = area
    x0 = ax + round(box.x * aw)
    y0 = ay + round(box.y * ah)
    x1 = ax + round((box.x + box.w) * aw)
    y1 = ay + round((box.y + box.h) * ah)
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def _banner_zones(
    safe: PixelBox, visible_roles: set[str], product_count: int, min_widths: Mapping[str, int]
) -> dict[str, PixelBox]:
    """Left to right: logo | products | title over subtitle | price | badge.

    `min_widths` widens a zone (a long price) at the expense of the title's.
    """
    x, y, w, h = safe
    gap = max(2, round(0.02 * w))
    widths: list[tuple[str, int]] = []
    if "logo" in visible_roles:
        widths.append(("logo", min(round(0.13 * w), round(1.9 * h))))
    if "product" in visible_roles and product_count:
        widths.append(("product", min(round(0.30 * w), round(1.25 * h * product_count))))
    widths.append(("text", 0))
    if "price" in visible_roles:
        widths.append(("price", max(min(round(0.17 * w), round(2.4 * h)), min_widths.get("price", 0))))
    if "badge" in visible_roles:
        widths.append(("badge", min(round(0.11 * w), round(1.3 * h))))
    fixed = sum(width for _, width in widths) + gap * (len(widths) - 1)
    if fixed >= w:  # a widened price never pushes anything off the canvas
        widths = [(role, width - (fixed - w + 1) if role == "price" else width) for role, width in widths]
        fixed = w - 1
    text_w = max(1, w - fixed)
    zones: dict[str, PixelBox] = {}
    cursor = x
    for role, width in widths:
        width = width or text_w
        zones[role] = (cursor, y, width, h)
        cursor += width + gap
    tx, ty, tw, th = zones.pop("text")
    if "subtitle" in visible_roles:
        title_h = round(th * 0.6)
        zones["title"] = (tx, ty, tw, title_h)
        zones["subtitle"] = (tx, ty + title_h, tw, th - title_h)
    else:
        zones["title"] = (tx, ty, tw, th)
    # A band runs behind the copy from the products' right to the canvas's edge, never behind the products:
    # in the palette's primary, the hero's own colour, it swallowed a red jacket on a red banner.
    start = zones["product"][0] + zones["product"][2] + gap // 2 if "product" in zones else 0
    zones["shape"] = (start, 0, x * 2 + w - start, y * 2 + h)
    return zones


def product_slots(zone: PixelBox, count: int, grouping: str = "auto") -> tuple[PixelBox, ...]:
    """Split a product zone into `count` slots: row, grid (2x2) or hero plus secondary."""
    x, y, w, h = zone
    if count <= 1:
        return (zone,)
    if grouping == "auto":
        if w >= 1.6 * h:
            grouping = "row"
        elif count == 4:
            grouping = "grid"
        elif count == 3:
            grouping = "hero"
        else:
            grouping = "row" if w >= 0.9 * h else "column"
    gap = max(2, round(0.03 * min(w, h)))
    if grouping == "grid" and count == 4:
        cw, ch = (w - gap) // 2, (h - gap) // 2
        return tuple((x + c * (cw + gap), y + r * (ch + gap), cw, ch) for r in range(2) for c in range(2))
    if grouping == "hero" and count >= 2:
        hero_w = round(w * 0.58)
        rest = count - 1
        sh = (h - gap * (rest - 1)) // rest
        hero = (x, y, hero_w, h)
        others = tuple((x + hero_w + gap, y + i * (sh + gap), w - hero_w - gap, sh) for i in range(rest))
        return (hero, *others)
    if grouping == "column":
        sh = (h - gap * (count - 1)) // count
        return tuple((x, y + i * (sh + gap), w, sh) for i in range(count))
    sw = (w - gap * (count - 1)) // count  # row, and grid/hero fallbacks
    return tuple((x + i * (sw + gap), y, sw, h) for i in range(count))


def plan_layout(
    template: Template,
    size: tuple[int, int],
    *,
    product_count: int,
    visible: Mapping[str, bool] | None = None,
    arrangement: str | None = None,
    grouping: str = "auto",
    min_widths: Mapping[str, int] | None = None,
) -> Layout:
    """Boxes for every visible layer of `template` on a `size` canvas.

    `min_widths` (px, per role; banners only) makes a zone at least that wide, e.g. for a price
    that would not fit its usual share.
    """
    width, height = size
    cls = aspect_class(width, height)
    options = template.arrangement_options(cls)
    arrangement = arrangement if arrangement in ARRANGEMENTS[cls] else options[0]
    margin = max(3, round(template.safe_margin * min(width, height)))
    safe: PixelBox = (margin, margin, width - 2 * margin, height - 2 * margin)
    visible = visible or {}
    shown: list[Layer] = [layer for layer in template.layers if visible.get(layer.id, True)]
    roles = {layer.role for layer in shown}

    if cls == "banner":
        auto = _banner_zones(safe, roles, product_count, min_widths or {})
    else:
        zones = dict(_ZONES[f"{cls}/{arrangement}"])
        if "badge" not in roles and cls in ("square", "tall") and arrangement == "stack":
            zones.pop("badge", None)
        elif "badge" in roles and cls in ("square", "tall") and arrangement == "stack":
            # The title shares the top band with the badge: keep it clear of the badge.
            t = zones["title"]
            zones["title"] = Box(t.x, t.y, zones["badge"].x - 0.02, t.h)
        if "logo" not in roles and "title" in zones and cls in ("square", "tall"):
            # Nothing in the logo row: the title moves up and gets the room.
            t, logo = zones["title"], zones["logo"]
            zones["title"] = Box(t.x, logo.y, t.w, t.h + (t.y - logo.y))
        auto = {role: _to_pixels(box, safe) for role, box in zones.items()}

    boxes: dict[str, PixelBox] = {}
    for layer in shown:
        if layer.role == "background":
            boxes[layer.id] = (0, 0, width, height)
        elif cls in layer.boxes:
            # A designer's box: backgrounds and shapes may bleed, everything else stays in the safe area.
            full = (0, 0, width, height)
            box = _to_pixels(layer.boxes[cls], full)
            boxes[layer.id] = box if layer.role == "shape" else _clip(box, safe)
        elif layer.role == "shape":
            boxes[layer.id] = _bleed(auto.get("shape", safe), safe, (width, height))
        elif layer.role in auto:
            boxes[layer.id] = auto[layer.role]
    slots: tuple[PixelBox, ...] = ()
    product_layer = template.layer("product")
    if product_layer is not None and product_layer.id in boxes and product_count:
        slots = product_slots(boxes[product_layer.id], product_count, grouping)
    return Layout((width, height), cls, arrangement, safe, boxes, slots)


def _clip(box: PixelBox, area: PixelBox) -> PixelBox:
    x0, y0 = max(box[0], area[0]), max(box[1], area[1])
    x1 = min(box[0] + box[2], area[0] + area[2])
    y1 = min(box[1] + box[3], area[1] + area[3])
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def _bleed(box: PixelBox, safe: PixelBox, size: tuple[int, int]) -> PixelBox:
    """Extend a shape box touching the safe edge out to the canvas edge (bands bleed)."""
    x0, y0, x1, y1 = box[0], box[1], box[0] + box[2], box[1] + box[3]
    if x0 <= safe[0]:
        x0 = 0
    if y0 <= safe[1]:
        y0 = 0
    if x1 >= safe[0] + safe[2]:
        x1 = size[0]
    if y1 >= safe[1] + safe[3]:
        y1 = size[1]
    return x0, y0, x1 - x0, y1 - y0
