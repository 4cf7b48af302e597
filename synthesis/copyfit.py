"""Copy fitting: which text items a canvas draws, in which box and at which size.

A template names a minimum legible size per text layer (`min_cap_px`, the cap height in px at
the size the creative is made for) and the order in which elements give way as the canvas
shrinks (`give_way`). `fit_copy` drops what cannot be read rather than drawing it small:
an element under its minimum is dropped, never drawn. The price is never cut: the elements
in `give_way` (then the title) make room first; a price that still does not fit is dropped
with the reason `price_does_not_fit`, which the score reports as a hard violation and the
search turns into a refusal of the size. A title is never smaller than the subtitle (the
subtitle shrinks, or gives way). On a banner (320x50, 728x90) only the template's
`banner_items` are shown beside the product: a title or price and at most one call to action.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import SynthesisError
from .fonts import FontRegistry
from .layout import Layout, PixelBox, aspect_class, plan_layout
from .spec import BANNER_ITEM_ROLES, TEXT_ROLES, Layer, Template, TextSpec
from .text import TextBlock, TextStyle, cap_height_ratio, layout_text, line_width

if TYPE_CHECKING:
    from .render import AdCopy, LayerChoice, RenderChoices

# The text a decoration made to hold text (a star, a ribbon) shows: set like a badge.
HELD_TEXT = TextSpec(font="sans-cjk-bold", size_min=0.016, size_max=0.036, max_lines=2, align="center", min_cap_px=7)
# On a banner a template's sizes (fractions of sqrt(W x H)) are tiny: text may grow to this
# multiple of its legible minimum when its box has room (the price most: it is the focal point).
BANNER_GROWTH = {"price": 2.2}
BANNER_GROWTH_DEFAULT = 2.0
BANNER_PRICE_SHARE = 0.3
# Texts cut at a phrase boundary when they do not fit at their minimum; the others are never cut.
CUTTABLE = ("title", "subtitle")


class PriceDoesNotFit(SynthesisError):
    """The price cannot be drawn whole and legible on this canvas, even after everything else gave way."""

    code = "price_does_not_fit"


@dataclass(frozen=True)
class Dropped:
    """An element the canvas does not draw, and why.

    Reasons: `no_copy` (no text for it), `nothing_to_hold` (a text-holding decoration without
    text), `banner` (not among the template's banner_items), `below_minimum` (it cannot be set at
    its minimum legible size), `gives_way_to_price`, `gives_way_to_title`, `smaller_than_title`
    (a subtitle that could not shrink under the title), `price_does_not_fit`.
    """

    layer_id: str
    reason: str


@dataclass(frozen=True)
class FittedText:
    layer_id: str
    role: str  # the text role (a decoration holding text gives the role it holds)
    box: PixelBox  # the layer's box (plates are drawn in it)
    text_box: PixelBox  # where the text goes
    style: TextStyle
    block: TextBlock
    plate: str
    min_cap_px: float  # at the creative's real size
    px_scale: float  # render px per px of the real creative (< 1 in the search's scoring renders)

    @property
    def cap_px(self) -> float:
        """The drawn cap height, in px at the creative's real size."""
        from .text import block_cap_height

        return block_cap_height(self.block) / self.px_scale


@dataclass(frozen=True)
class CopyFit:
    layout: Layout
    texts: Mapping[str, FittedText]  # by layer id, in template order
    dropped: tuple[Dropped, ...]
    visible: Mapping[str, bool]


def canvas_scale(size: tuple[int, int]) -> float:
    """Text sizes in specs are fractions of sqrt(W*H), so they suit every aspect ratio."""
    return math.sqrt(size[0] * size[1])


SKYSCRAPER = 0.4  # width / height under which a canvas is a skyscraper (120x600, 160x600, 300x1050)
SKYSCRAPER_LINES = ("title", "subtitle")  # set on one more line there than the template asks for


def text_style(spec: TextSpec, role: str, plate: str, choice: LayerChoice, size: tuple[int, int]) -> TextStyle:
    """The layer's text style at `size`, its size range straight from the spec (fit_copy adds the minimum)."""
    scale = canvas_scale(size) * choice.size_scale
    size_max = spec.size_max * scale
    size_min = min(spec.size_min * scale, size_max)
    valign = "middle" if role in ("price", "badge") or plate != "none" else "top"
    return TextStyle(
        font=spec.font,
        size_max=size_max,
        size_min=size_min,
        line_height=spec.line_height,
        align=choice.align or spec.align,
        valign=valign,
        max_lines=spec.max_lines + (1 if role in SKYSCRAPER_LINES and size[0] < SKYSCRAPER * size[1] else 0),
    )


def text_box_for_plate(box: PixelBox, plate: str, text_px: float | None = None, *, rims: bool = True) -> PixelBox:
    """Text inside a burst stays within the star's inner circle; a pill keeps room for its rounded ends.

    A pill is drawn round the text's ink, its ends 0.45 x the ink's height out (`render.plate_shape`):
    given `text_px`, the most the text's lines can stand, its ends are reserved from that, not from a
    box taller than the text (a price's 67x59 box on a 120x600 skyscraper kept 18 px a side for ends
    of 6, and the price did not fit over a scene). Without `rims` nothing is kept above and below the
    text: its line box, a quarter taller than its ink, leaves the pill's top and bottom room enough."""
    x, y, w, h = box
    if plate == "pill":
        ends = min(h, w) * 0.3 if text_px is None else min(min(h, w) * 0.3, 0.45 * text_px)
        ix, iy = max(2, round(ends)), (max(1, round(h * 0.1)) if rims else 0)
        return x + ix, y + iy, max(1, w - 2 * ix), max(1, h - 2 * iy)
    if plate != "burst":
        return box
    side = min(w, h)
    inner = round(side * 0.62)
    return x + (w - inner) // 2, y + (h - inner) // 2, inner, inner


def contained_box(
    image_size: tuple[int, int], box: PixelBox, max_scale: float, align: str = "center", valign: str = "bottom"
) -> tuple[PixelBox, float]:
    """Where an image scaled to fit `box` (capped at max_scale) is drawn, as (x, y, w, h), and the scale."""
    x, y, w, h = box
    iw, ih = image_size
    scale = min(w / iw, h / ih, max_scale)
    nw, nh = max(1, round(iw * scale)), max(1, round(ih * scale))
    px = {"left": x, "center": x + (w - nw) // 2, "right": x + w - nw}[align]
    py = {"top": y, "middle": y + (h - nh) // 2, "bottom": y + h - nh}[valign]
    return (px, py, nw, nh), scale


def held_text_box(drawn: PixelBox) -> PixelBox:
    """The text area of a text-holding decoration: a star's inner circle, a ribbon's body."""
    x, y, w, h = drawn
    if w < 1.5 * h:
        return text_box_for_plate(drawn, "burst")
    ix, iy = round(w * 0.12), round(h * 0.24)
    return x + ix, y + iy, max(1, w - 2 * ix), max(1, h - 2 * iy)


def text_plate(layer: Layer, choice: LayerChoice, scene: bool) -> str:
    """The plate a text layer is drawn on: over a photo, copy always sits on a plate that hugs it."""
    plate = choice.plate or layer.plate
    return "pill" if scene and plate == "none" else plate


def decoration_asset(layer: Layer, choice: LayerChoice) -> str | None:
    return choice.asset or layer.asset or (layer.variations.assets[0] if layer.variations.assets else None)


def _fit_one(
    layer: Layer,
    text: str,
    box: PixelBox,
    *,
    choice: LayerChoice,
    scene: bool,
    size: tuple[int, int],
    px_scale: float,
    banner: bool,
    fonts: FontRegistry,
    assets: Mapping,
    size_cap: float | None = None,
) -> FittedText | None:
    """The text set in its box at the largest size that fits, never under its minimum; None when it cannot be."""
    if layer.holds:
        name = decoration_asset(layer, choice)
        source = assets.get(name) if name else None
        if source is None:
            return None
        drawn, _ = contained_box(source.size, box, 4.0, valign="middle")
        spec, role, plate, text_box = HELD_TEXT, layer.holds, "none", held_text_box(drawn)
    else:
        spec, role = layer.text, layer.role
        assert spec is not None
        plate = text_plate(layer, choice, scene)
        text_box = None
    style = text_style(spec, role, layer.plate, choice, size)
    # The legible minimum, in render px: the cap height asked for at the real size.
    floor = spec.min_cap_px * px_scale / cap_height_ratio(text, style, fonts)
    size_min = math.ceil(max(style.size_min, floor) - 1e-6)
    size_max = max(style.size_max, size_min)
    if banner:
        size_max = max(size_max, BANNER_GROWTH.get(role, BANNER_GROWTH_DEFAULT) * size_min)
        style = dataclasses.replace(style, valign="middle")  # one row: texts centred on the product
    if size_cap is not None:
        size_max = min(size_max, size_cap)
        if size_max < size_min:
            return None
    style = dataclasses.replace(
        style, size_min=size_min, size_max=size_max, overflow="ellipsis" if role in CUTTABLE else "none"
    )
    if text_box is not None:
        block = layout_text(text, text_box[2], text_box[3], style, fonts)
    else:
        # A pill's ends grow with its text: tried with room for the largest text first, then for smaller
        # ones (the text no larger than the ends were reserved for), down to the legible minimum.
        # Last, at the minimum, without rims above and below: a price's 90x17 box at 180x150 held the
        # price's line but not 2 px more over and under it, and the size was refused for every scene.
        lines = 1 + (style.max_lines - 1) * style.line_height
        tries = [(size_max, True)]
        if plate == "pill":
            tries = [(px, True) for px in sorted({size_max, (size_max + size_min) / 2, size_min}, reverse=True)]
            tries.append((size_min, False))
        for px, rims in tries:
            text_box = text_box_for_plate(box, plate, px * lines, rims=rims)
            style = dataclasses.replace(style, size_max=px)
            block = layout_text(text, text_box[2], text_box[3], style, fonts)
            if not block.empty:
                break
    if block.empty:
        return None
    return FittedText(layer.id, role, box, text_box, style, block, plate, spec.min_cap_px, px_scale)


COLUMN_AXIS_SHARE = 0.04  # of the canvas width: text boxes whose centres lie this close share a column's axis
COLUMN_ROLES = ("subtitle", "price")  # what follows the title's alignment when stacked on its axis


def column_aligns(template: Template, layout: Layout, choices: RenderChoices, visible: Mapping[str, bool]) -> dict:
    """Layer id -> the alignment it is set with, for the copy stacked under the title: one column reads
    with one alignment. A title centred by its variation takes the subtitle and the price below it
    along when their boxes share its axis; when one does not (a left column beside a full-width
    title), the title keeps the template's own alignment: a centred headline over a left-aligned
    subtitle and price looked like a mistake."""
    title = template.layer("title")
    if title is None or title.text is None or not visible.get(title.id) or title.id not in layout.boxes:
        return {}
    align = choices.for_layer(title.id).align or title.text.align
    if align == title.text.align:
        return {}
    axis = _centre_x(layout.boxes[title.id])
    companions = [
        layer
        for layer in template.layers
        if layer.role in COLUMN_ROLES
        and layer.text is not None
        and visible.get(layer.id)
        and layer.id in layout.boxes
        and choices.for_layer(layer.id).align is None
        and layer.text.align != align
    ]
    tolerance = COLUMN_AXIS_SHARE * layout.size[0]
    if all(abs(_centre_x(layout.boxes[layer.id]) - axis) <= tolerance for layer in companions):
        return {layer.id: align for layer in companions}
    return {title.id: title.text.align}


def _centre_x(box: PixelBox) -> float:
    return box[0] + box[2] / 2


def _price_width(
    layer: Layer,
    text: str,
    box: PixelBox,
    *,
    choice: LayerChoice,
    size: tuple[int, int],
    px_scale: float,
    fonts: FontRegistry,
    plate: str,
    growth: float = 1.0,
) -> int:
    """The box width a one-line price needs at its legible minimum (times `growth`), its plate's ends included."""
    assert layer.text is not None
    style = text_style(layer.text, layer.role, layer.plate, choice, size)
    floor = math.ceil(max(style.size_min, layer.text.min_cap_px * px_scale / cap_height_ratio(text, style, fonts)))
    font_px = max(floor, math.floor(floor * growth))
    width = math.ceil(line_width(text, style, font_px, fonts)) + 4
    if plate == "pill":  # its ends, as `text_box_for_plate` reserves them for a text of this size
        width += 2 * max(2, round(min(box[3] * 0.3, 0.45 * font_px)))
    return width


def fit_copy(
    template: Template,
    size: tuple[int, int],
    *,
    copy: AdCopy,
    choices: RenderChoices,
    fonts: FontRegistry,
    assets: Mapping,
    product_count: int,
    scene: bool = False,
    target_size: tuple[int, int] | None = None,
) -> CopyFit:
    """Decide which text items `size` draws and set each one; see the module docstring for the rules.

    `target_size` is the size the creative is made for when `size` is a smaller scoring render:
    legible minimums are judged there. Never raises for copy that does not fit: what is not
    drawn is listed in `dropped` with its reason.
    """
    target = target_size or size
    px_scale = size[0] / target[0]
    banner = aspect_class(*target) == "banner"
    dropped: list[Dropped] = []
    visible = {layer.id: choices.for_layer(layer.id).visible for layer in template.layers}
    by_id = {layer.id: layer for layer in template.layers}

    def drop(layer: Layer, reason: str) -> None:
        visible[layer.id] = False
        dropped.append(Dropped(layer.id, reason))

    def text_of(layer: Layer) -> str:
        return copy.for_role(layer.holds or layer.role).strip()

    for layer in template.layers:
        if not visible[layer.id]:
            continue
        if layer.role in TEXT_ROLES and not text_of(layer):
            drop(layer, "no_copy")
        elif layer.holds and not text_of(layer):
            drop(layer, "nothing_to_hold")
        elif banner and layer.role in BANNER_ITEM_ROLES and layer.role not in template.banner_items:
            drop(layer, "banner")

    def next_to_give_way(before: str | None = None) -> Layer | None:
        """The next visible element to give way (the title last); with `before`, only one that gives way before it."""
        order = (*template.give_way, "title")
        for role in order[: order.index(before)] if before else order:
            for layer in template.layers:
                if layer.role == role and visible[layer.id]:
                    return layer
        return None

    min_widths: dict[str, int] = {}
    price = template.layer("price")
    if banner and price is not None and visible[price.id]:
        # The price is the banner's focal point: its zone is made for it at its banner size,
        # up to BANNER_PRICE_SHARE of the width (more only when even its minimum needs more).
        wanted = _price_width(
            price,
            text_of(price),
            (0, 0, size[0], size[1] - 2 * max(3, round(template.safe_margin * size[1]))),
            choice=choices.for_layer(price.id),
            size=size,
            px_scale=px_scale,
            fonts=fonts,
            plate=text_plate(price, choices.for_layer(price.id), scene),
            growth=BANNER_GROWTH["price"],
        )
        min_widths["price"] = min(wanted, round(BANNER_PRICE_SHARE * size[0]))
    widened = False
    for _ in range(2 * len(template.layers) + 3):
        layout = plan_layout(
            template,
            size,
            product_count=product_count,
            visible=visible,
            arrangement=choices.arrangement,
            grouping=choices.grouping,
            min_widths=min_widths,
        )
        fitted: dict[str, FittedText] = {}
        failed: Layer | None = None
        aligns = {} if banner else column_aligns(template, layout, choices, visible)
        for layer in template.layers:
            if not visible[layer.id] or layer.id not in layout.boxes or not (layer.text or layer.holds):
                continue
            choice = choices.for_layer(layer.id)
            fit = _fit_one(
                layer,
                text_of(layer),
                layout.boxes[layer.id],
                choice=dataclasses.replace(choice, align=aligns[layer.id]) if layer.id in aligns else choice,
                scene=scene,
                size=size,
                px_scale=px_scale,
                banner=banner,
                fonts=fonts,
                assets=assets,
            )
            if fit is None:
                failed = layer
                break
            fitted[layer.id] = fit
        if failed is not None:
            if failed.role == "price" and banner and not widened:
                widened = True
                # A banner's price zone is a fixed share: widen it to the price's legible width first.
                min_widths["price"] = max(
                    min_widths.get("price", 0),
                    _price_width(
                        failed,
                        text_of(failed),
                        layout.boxes[failed.id],
                        choice=choices.for_layer(failed.id),
                        size=size,
                        px_scale=px_scale,
                        fonts=fonts,
                        plate=text_plate(failed, choices.for_layer(failed.id), scene),
                    ),
                )
                continue
            if failed.role == "price":
                giver = next_to_give_way()
                drop(*((giver, "gives_way_to_price") if giver else (failed, "price_does_not_fit")))
            elif failed.role == "title" and (giver := next_to_give_way(before="title")) is not None:
                # The headline outranks what gives way before it: a badge or a subtitle beside it goes
                # first (a 160x600 skyscraper drew a subtitle and no title).
                drop(giver, "gives_way_to_title")
            else:
                drop(failed, "gives_way_to_price" if widened else "below_minimum")
            continue
        title = next((f for f in fitted.values() if f.role == "title"), None)
        subtitle = next((f for f in fitted.values() if f.role == "subtitle"), None)
        if title and subtitle and title.block.truncated:
            drop(by_id[subtitle.layer_id], "gives_way_to_title")
            continue
        if title and subtitle and subtitle.block.font_size > title.block.font_size:
            layer = by_id[subtitle.layer_id]
            smaller = _fit_one(
                layer,
                text_of(layer),
                subtitle.box,
                choice=dataclasses.replace(choices.for_layer(layer.id), align=subtitle.style.align),
                scene=scene,
                size=size,
                px_scale=px_scale,
                banner=banner,
                fonts=fonts,
                assets=assets,
                size_cap=title.block.font_size,
            )
            if smaller is None:
                drop(layer, "smaller_than_title")
                continue
            fitted[layer.id] = smaller
        return CopyFit(layout, fitted, tuple(dropped), dict(visible))
    raise AssertionError("fit_copy did not settle")  # each round drops one element: unreachable
