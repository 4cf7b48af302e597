"""The template specification: a versioned JSON format, parsed into frozen dataclasses.

A template is a canvas and an ordered list of layers, each with a role. Geometry is
relative (fractions of the canvas), colours are palette roles (never fixed values), fonts
are registry names, and images are asset names the caller supplies, so one template
renders at any size, in any palette, for any product. Every problem is reported with its
path, e.g. ``layers[3].box.w: must be > 0``; `docs/template-spec.md` documents the format.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .colour import PALETTE_ROLES
from .errors import SynthesisError

SPEC_VERSION = 1
ROLES = ("background", "product", "title", "subtitle", "price", "badge", "logo", "decoration", "shape")
TEXT_ROLES = ("title", "subtitle", "price", "badge")
ASPECT_CLASSES = ("banner", "wide", "square", "tall")
ARRANGEMENTS = {
    "square": ("stack", "split"),
    "tall": ("stack",),
    "wide": ("split", "split-reverse"),
    "banner": ("row",),
}
PRODUCT_GROUPINGS = ("auto", "row", "grid", "hero")
PLATES = ("none", "pill", "burst", "band")
SCENE_FITS = ("none", "full-bleed", "cover")
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
FILL_TYPES = ("colour", "gradient", "image")
ALIGNS = ("left", "center", "right")
# Cap height, in px at the size a creative is made for, below which a text is not drawn (issue 17).
DEFAULT_MIN_CAP_PX = {"title": 8.0, "price": 8.0, "subtitle": 7.0, "badge": 7.0}
# What gives way first when a canvas is too small for everything; the price never does.
GIVE_WAY_ROLES = ("subtitle", "badge", "decoration", "logo", "title")
DEFAULT_GIVE_WAY = ("subtitle", "badge", "decoration", "logo")
# What a banner (320x50, 728x90) shows beside the product: a title or price and at most one call to action.
BANNER_ITEM_ROLES = ("title", "price", "badge", "subtitle", "logo", "decoration")
DEFAULT_BANNER_ITEMS = ("title", "price")
# Every layer is drawn over the whole canvas and scored, in every candidate of every size: the
# count bounds what one template costs (docs/template-spec.md). A real template has about 10.
MAX_LAYERS = 100


class TemplateSpecError(SynthesisError):
    """The spec is invalid; `errors` lists every problem as ``path: message``."""

    code = "invalid_template"

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("Invalid template: " + "; ".join(errors))


@dataclass(frozen=True)
class Box:
    """A rectangle in canvas fractions (0..1), origin top-left."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Fill:
    type: str = "colour"
    colour: str = "background"
    to: str | None = None  # gradient end role
    angle: float = 90.0  # degrees; 90 = top to bottom
    strength: float = 1.0  # how far towards `to` the gradient goes
    asset: str | None = None  # image fill
    # An image fill's stage (a podium's top surface), in the asset's own fractions: products stand on it.
    stage: Box | None = None


@dataclass(frozen=True)
class TextSpec:
    font: str = "sans-bold"
    size_min: float = 0.03  # fractions of the canvas scale sqrt(W*H)
    size_max: float = 0.08
    max_lines: int = 2
    align: str = "left"
    line_height: float = 1.2
    min_cap_px: float = 8.0  # cap height, px at the creative's real size, under which the text is dropped


@dataclass(frozen=True)
class Variations:
    """Choices the candidate search may make for one layer; the first is the default."""

    visible: tuple[bool, ...] = (True,)
    align: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()
    size_scale: tuple[float, ...] = (1.0,)
    colour: tuple[str, ...] = ()
    plate: tuple[str, ...] = ()


@dataclass(frozen=True)
class Layer:
    id: str
    role: str
    colour: str = "text"
    fill: Fill | None = None
    text: TextSpec | None = None
    asset: str | None = None
    plate: str = "none"
    plate_colour: str = "accent"
    opacity: float = 1.0
    shadow: bool = True
    max_upscale: float = 1.5
    corner: str | None = None
    holds: str | None = None  # a decoration made to hold text (a star, a ribbon): the text role it shows
    radius: float = 0.0  # corner radius, fraction of the shorter box side
    boxes: Mapping[str, Box] = field(default_factory=dict)  # per aspect class, overrides auto layout
    variations: Variations = field(default_factory=Variations)


@dataclass(frozen=True)
class Template:
    name: str
    layers: tuple[Layer, ...]
    spec_version: int = SPEC_VERSION
    kind: str = "image"
    description: str = ""
    tags: tuple[str, ...] = ()
    safe_margin: float = 0.05
    products_min: int = 1
    products_max: int = 1
    arrangements: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    product_grouping: tuple[str, ...] = ("auto",)
    default_palette: Mapping[str, str] = field(default_factory=dict)
    shapes: tuple[str, ...] = ASPECT_CLASSES  # the canvas shapes (aspect classes) the designer made it for
    # How a product photo without a clean cut-out (a scene) is shown: not at all ("none"), over
    # the whole canvas ("full-bleed") or filling the product layer's box ("cover").
    scene: str = "none"
    give_way: tuple[str, ...] = DEFAULT_GIVE_WAY  # roles dropped first, in order, when the canvas is too small
    banner_items: tuple[str, ...] = DEFAULT_BANNER_ITEMS  # what a banner shows beside the product

    @property
    def takes_scenes(self) -> bool:
        return self.scene != "none"

    def layer(self, role: str) -> Layer | None:
        return next((layer for layer in self.layers if layer.role == role), None)

    def arrangement_options(self, aspect_class: str) -> tuple[str, ...]:
        return self.arrangements.get(aspect_class) or ARRANGEMENTS[aspect_class][:1]


def _finite(value: int | float) -> bool:
    """Whether a JSON number is usable as a float (not NaN or infinite, not an integer past float's range)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


class SpecReader:
    """Walks the raw JSON collecting every error with its path instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def obj(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.error(path, "must be an object")
            return {}
        return value

    def number(self, raw: Mapping, key: str, path: str, default: float, *, lo=None, hi=None, lo_open=False) -> float:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(f"{path}.{key}", "must be a number")
            return default
        if not _finite(value):  # NaN, the infinities (Python's json reads them) and integers past float's range
            self.error(f"{path}.{key}", "must be a finite number")
            return default
        if lo is not None and (value <= lo if lo_open else value < lo):
            self.error(f"{path}.{key}", f"must be {'>' if lo_open else '>='} {lo}")
        if hi is not None and value > hi:
            self.error(f"{path}.{key}", f"must be <= {hi}")
        return float(value)

    def integer(self, raw: Mapping, key: str, path: str, default: int, *, lo: int, hi: int) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(f"{path}.{key}", "must be an integer")
            return default
        if not lo <= value <= hi:
            self.error(f"{path}.{key}", f"must be between {lo} and {hi}")
        return value

    def choice(self, raw: Mapping, key: str, path: str, default, options) -> Any:
        value = raw.get(key, default)
        if value not in options:
            self.error(f"{path}.{key}", f"must be one of {', '.join(map(str, options))} (got {value!r})")
            return default
        return value

    def string(self, raw: Mapping, key: str, path: str, default: str | None) -> str | None:
        value = raw.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            self.error(f"{path}.{key}", "must be a non-empty string")
            return default
        return value

    def choices(self, raw: Mapping, key: str, path: str, options, kind=str) -> tuple:
        value = raw.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            self.error(f"{path}.{key}", "must be a non-empty list")
            return ()
        out = []
        for i, item in enumerate(value):
            if options is not None and item not in options:
                self.error(f"{path}.{key}[{i}]", f"must be one of {', '.join(map(str, options))} (got {item!r})")
            elif kind is float and (
                isinstance(item, bool) or not isinstance(item, int | float) or not 0.5 <= item <= 2
            ):
                self.error(f"{path}.{key}[{i}]", "must be a number between 0.5 and 2")
            elif kind is bool and not isinstance(item, bool):
                self.error(f"{path}.{key}[{i}]", "must be true or false")
            elif kind is str and options is None and (not isinstance(item, str) or not item):
                self.error(f"{path}.{key}[{i}]", "must be a non-empty string")
            else:
                out.append(float(item) if kind is float else item)
        return tuple(out)

    def box(self, value: Any, path: str) -> Box:
        raw = self.obj(value, path)
        x = self.number(raw, "x", path, 0.0, lo=0, hi=1)
        y = self.number(raw, "y", path, 0.0, lo=0, hi=1)
        w = self.number(raw, "w", path, 0.1, lo=0, hi=1, lo_open=True)
        h = self.number(raw, "h", path, 0.1, lo=0, hi=1, lo_open=True)
        if x + w > 1.0001:
            self.error(f"{path}", f"x + w = {x + w:.3f} leaves the canvas (must be <= 1)")
        if y + h > 1.0001:
            self.error(f"{path}", f"y + h = {y + h:.3f} leaves the canvas (must be <= 1)")
        return Box(x, y, w, h)


def _parse_layer(r: SpecReader, raw_layer: Any, path: str) -> Layer:
    raw = r.obj(raw_layer, path)
    layer_id = r.string(raw, "id", path, None) or path
    role = r.choice(raw, "role", path, "shape", ROLES)
    kwargs: dict[str, Any] = {"id": layer_id, "role": role}
    kwargs["colour"] = r.choice(raw, "colour", path, "text", PALETTE_ROLES)
    kwargs["plate"] = r.choice(raw, "plate", path, "none", PLATES)
    kwargs["plate_colour"] = r.choice(raw, "plate_colour", path, "accent", PALETTE_ROLES)
    kwargs["opacity"] = r.number(raw, "opacity", path, 1.0, lo=0, hi=1)
    kwargs["radius"] = r.number(raw, "radius", path, 0.0, lo=0, hi=0.5)
    kwargs["max_upscale"] = r.number(raw, "max_upscale", path, 1.5, lo=0.1, hi=8)
    shadow = raw.get("shadow", True)
    if not isinstance(shadow, bool):
        r.error(f"{path}.shadow", "must be true or false")
        shadow = True
    kwargs["shadow"] = shadow
    kwargs["asset"] = r.string(raw, "asset", path, None)
    if "corner" in raw:
        kwargs["corner"] = r.choice(raw, "corner", path, "top-right", CORNERS)

    if role == "background" or "fill" in raw:
        fraw = r.obj(raw.get("fill", {}), f"{path}.fill")
        fill_type = r.choice(fraw, "type", f"{path}.fill", "colour", FILL_TYPES)
        fill = Fill(
            type=fill_type,
            colour=r.choice(fraw, "colour", f"{path}.fill", "background", PALETTE_ROLES),
            to=r.choice(fraw, "to", f"{path}.fill", None, (*PALETTE_ROLES, None)),
            angle=r.number(fraw, "angle", f"{path}.fill", 90.0, lo=-360, hi=360),
            strength=r.number(fraw, "strength", f"{path}.fill", 1.0, lo=0, hi=1),
            asset=r.string(fraw, "asset", f"{path}.fill", None),
            stage=r.box(fraw["stage"], f"{path}.fill.stage") if "stage" in fraw else None,
        )
        if fill.stage is not None and fill.type != "image":
            r.error(f"{path}.fill.stage", "only an image fill has a stage")
        if fill.type == "gradient" and fill.to is None:
            r.error(f"{path}.fill.to", "a gradient needs a `to` palette role")
        if fill.type == "image" and not fill.asset:
            r.error(f"{path}.fill.asset", "an image fill needs an asset name")
        kwargs["fill"] = fill

    if role in TEXT_ROLES or "text" in raw:
        traw = r.obj(raw.get("text", {}), f"{path}.text")
        tpath = f"{path}.text"
        size = traw.get("size", [0.03, 0.08])
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(s, int | float) for s in size)):
            r.error(f"{tpath}.size", "must be [min, max], fractions of the canvas scale")
            size = [0.03, 0.08]
        elif not (_finite(size[0]) and _finite(size[1]) and 0 < size[0] <= size[1] <= 0.5):
            r.error(f"{tpath}.size", "must satisfy 0 < min <= max <= 0.5")
            size = [0.03, 0.08]
        kwargs["text"] = TextSpec(
            font=r.string(traw, "font", tpath, "sans-bold"),
            size_min=float(size[0]),
            size_max=float(size[1]),
            max_lines=r.integer(traw, "max_lines", tpath, 2, lo=1, hi=6),
            align=r.choice(traw, "align", tpath, "left", ALIGNS),
            line_height=r.number(traw, "line_height", tpath, 1.2, lo=0.8, hi=2.5),
            min_cap_px=r.number(traw, "min_cap_px", tpath, DEFAULT_MIN_CAP_PX.get(role, 8.0), lo=1, hi=200),
        )
    if "holds" in raw:
        kwargs["holds"] = r.choice(raw, "holds", path, "badge", TEXT_ROLES)
        if role != "decoration":
            r.error(f"{path}.holds", "only a decoration holds text")
    if role in ("logo",) and not kwargs["asset"]:
        r.error(f"{path}.asset", "a logo layer needs an asset name")

    boxes: dict[str, Box] = {}
    if "box" in raw:  # one box for every aspect class
        box = r.box(raw["box"], f"{path}.box")
        boxes = {c: box for c in ASPECT_CLASSES}
    for cls, braw in r.obj(raw.get("boxes", {}), f"{path}.boxes").items():
        if cls not in ASPECT_CLASSES:
            r.error(f"{path}.boxes.{cls}", f"unknown aspect class (use {', '.join(ASPECT_CLASSES)})")
            continue
        boxes[cls] = r.box(braw, f"{path}.boxes.{cls}")
    kwargs["boxes"] = boxes

    vraw = r.obj(raw.get("variations", {}), f"{path}.variations")
    vpath = f"{path}.variations"
    for key in vraw:
        if key not in ("visible", "align", "assets", "size_scale", "colour", "plate"):
            r.error(f"{vpath}.{key}", "unknown variation")
    kwargs["variations"] = Variations(
        visible=r.choices(vraw, "visible", vpath, (True, False), bool) or (True,),
        align=r.choices(vraw, "align", vpath, ALIGNS),
        assets=r.choices(vraw, "assets", vpath, None),
        size_scale=r.choices(vraw, "size_scale", vpath, None, float) or (1.0,),
        colour=r.choices(vraw, "colour", vpath, PALETTE_ROLES),
        plate=r.choices(vraw, "plate", vpath, PLATES),
    )
    return Layer(**kwargs)


def parse_template(data: Any) -> Template:
    """Validate raw JSON data and return a Template; raises TemplateSpecError listing every problem."""
    r = SpecReader()
    raw = r.obj(data, "$")
    if not raw:
        raise TemplateSpecError(r.errors or ["$: must be a non-empty object"])
    version = raw.get("spec_version")
    if version != SPEC_VERSION:
        r.error("spec_version", f"must be {SPEC_VERSION} (got {version!r})")
    name = r.string(raw, "name", "$", None)
    if name is None:
        r.error("name", "is required")
    kind = r.choice(raw, "kind", "$", "image", ("image",))
    canvas = r.obj(raw.get("canvas", {}), "canvas")
    safe_margin = r.number(canvas, "safe_margin", "canvas", 0.05, lo=0, hi=0.2)
    products = r.obj(raw.get("products", {}), "products")
    pmin = r.integer(products, "min", "products", 1, lo=0, hi=4)
    pmax = r.integer(products, "max", "products", 1, lo=0, hi=4)
    if pmin > pmax:
        r.error("products", f"min ({pmin}) must be <= max ({pmax})")
    grouping = r.choices(products, "grouping", "products", PRODUCT_GROUPINGS) or ("auto",)
    shapes = r.choices(raw, "shapes", "$", ASPECT_CLASSES) or ASPECT_CLASSES
    scene = r.choice(raw, "scene", "$", "none", SCENE_FITS)
    give_way = r.choices(raw, "give_way", "$", GIVE_WAY_ROLES) if "give_way" in raw else DEFAULT_GIVE_WAY
    banner_items = r.choices(raw, "banner_items", "$", BANNER_ITEM_ROLES) or DEFAULT_BANNER_ITEMS
    if banner_items.count("badge") > 1 or len(set(banner_items) & set(TEXT_ROLES)) > 3:
        r.error("banner_items", "a banner shows at most a title, a price and one call to action (badge)")

    arrangements: dict[str, tuple[str, ...]] = {}
    for cls, options in r.obj(raw.get("arrangements", {}), "arrangements").items():
        if cls not in ASPECT_CLASSES:
            r.error(f"arrangements.{cls}", f"unknown aspect class (use {', '.join(ASPECT_CLASSES)})")
            continue
        arrangements[cls] = r.choices({"a": options}, "a", f"arrangements.{cls}", ARRANGEMENTS[cls])

    palette: dict[str, str] = {}
    for role, value in r.obj(raw.get("palette", {}), "palette").items():
        if role not in PALETTE_ROLES:
            r.error(f"palette.{role}", f"unknown palette role (use {', '.join(PALETTE_ROLES)})")
        elif not (isinstance(value, str) and len(value) == 7 and value.startswith("#")):
            r.error(f"palette.{role}", "must be a #rrggbb colour")
        else:
            try:
                int(value[1:], 16)
                palette[role] = value.lower()
            except ValueError:
                r.error(f"palette.{role}", "must be a #rrggbb colour")

    raw_layers = raw.get("layers")
    layers: list[Layer] = []
    if not isinstance(raw_layers, list) or not raw_layers:
        r.error("layers", "must be a non-empty list")
    elif len(raw_layers) > MAX_LAYERS:
        # Refused before any layer is read: the limit is what keeps validating and rendering cheap.
        r.error("layers", f"at most {MAX_LAYERS} layers per template (got {len(raw_layers)}); merge or remove some")
    else:
        for i, raw_layer in enumerate(raw_layers):
            layers.append(_parse_layer(r, raw_layer, f"layers[{i}]"))
    ids = [layer.id for layer in layers]
    for i, layer_id in enumerate(ids):
        if ids.index(layer_id) != i:
            r.error(f"layers[{i}].id", f"duplicate id {layer_id!r}")
    roles = [layer.role for layer in layers]
    if layers and roles.count("background") != 1:
        r.error("layers", "must contain exactly one background layer")
    if layers and pmax > 0 and "product" not in roles:
        r.error("layers", "a template for products needs a product layer")
    for role in (*TEXT_ROLES, "product", "logo"):
        if roles.count(role) > 1:
            r.error("layers", f"at most one {role} layer")
    for i, layer in enumerate(layers):
        if layer.holds and (layer.holds in roles or sum(other.holds == layer.holds for other in layers) > 1):
            r.error(f"layers[{i}].holds", f"the {layer.holds} text is already shown by another layer")
    if r.errors:
        raise TemplateSpecError(r.errors)
    tags = raw.get("tags", [])
    return Template(
        name=name or "",
        layers=tuple(layers),
        kind=kind,
        description=str(raw.get("description", "")),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        safe_margin=safe_margin,
        products_min=pmin,
        products_max=pmax,
        arrangements=arrangements,
        product_grouping=grouping,
        default_palette=palette,
        shapes=shapes,
        scene=scene,
        give_way=give_way,
        banner_items=banner_items,
    )


def read_spec_file(path: str | Path) -> Any:
    """The JSON in a spec file; TemplateSpecError when it cannot be read or parsed."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TemplateSpecError([f"$: not valid JSON ({exc.msg} at line {exc.lineno})"]) from exc
    except OSError as exc:
        raise TemplateSpecError([f"$: cannot read {path}: {exc.strerror}"]) from exc


def load_template(path: str | Path) -> Template:
    """Read and validate a template JSON file."""
    return parse_template(read_spec_file(path))
