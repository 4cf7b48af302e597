"""PSD import: a layered Photoshop file read into a template spec, the assets it needs and what was left out.

Layers map to template roles by name (docs/psd-import.md): `bg`, `product`/`product-2..4`,
`title`, `subtitle`, `price`, `badge`, `logo`, `deco-*`, `shape-*`. Geometry becomes canvas
fractions for the PSD's own aspect class; text layers keep their size (relative to sqrt(W x H)),
alignment and colour (as a palette role); pixels become PNG assets. Everything else is listed
with a reason, never dropped silently.

The file is untrusted: its header is read here, before psd-tools parses anything, and refused
when the canvas, the file or its layer count is over the limits; each layer's declared size is
checked before its pixels are decoded, and nothing but single layers within the canvas is ever
composited.
"""

from __future__ import annotations

import io
import logging
import math
import re
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from synthesis.colour import contrast_ratio, delta_e_2000, hex_to_rgb, rgb_to_hex, srgb_to_lab
from synthesis.layout import aspect_class

from .errors import UploadRejected

logger = logging.getLogger(__name__)

RGB = tuple[int, int, int]

COLOUR_MODES = {
    0: "Bitmap",
    1: "Grayscale",
    2: "Indexed",
    3: "RGB",
    4: "CMYK",
    7: "Multichannel",
    8: "Duotone",
    9: "Lab",
}
TEXT_ROLES = ("title", "subtitle", "price", "badge")
# How far (CIEDE2000) a PSD colour may be from a brand colour and still be taken as that brand role.
BRAND_MATCH_DELTA_E = 10.0
# A background whose pixels vary less than this (per channel, standard deviation) is a plain colour.
PLAIN_BACKGROUND_STD = 2.0

# Names outside the convention whose meaning is obvious: suggested in the unmapped list, never guessed.
SUGGESTIONS = {
    "background": "bg", "backdrop": "bg", "bkg": "bg", "back": "bg",
    "headline": "title", "heading": "title", "header": "title", "head": "title",
    "subhead": "subtitle", "subheading": "subtitle", "subheadline": "subtitle", "tagline": "subtitle",
    "sub": "subtitle", "description": "subtitle", "body": "subtitle",
    "cost": "price", "amount": "price",
    "tag": "badge", "label": "badge", "sticker": "badge", "flag": "badge", "promo": "badge",
    "brand": "logo", "logotype": "logo",
    "photo": "product", "packshot": "product", "item": "product", "hero": "product",
    "star": "deco-star", "sparkle": "deco-sparkle", "ornament": "deco-ornament", "ribbon": "deco-ribbon",
    "burst": "deco-burst", "decoration": "deco-1", "band": "shape-band", "rectangle": "shape-1", "box": "shape-1",
}  # fmt: skip
CURRENCY = re.compile(r"[¥￥$€£₩₹]|\d+[.,]\d{2}\b|\bRMB\b", re.IGNORECASE)


@dataclass(frozen=True)
class PsdLimits:
    """What an uploaded PSD may be: canvas pixels, file bytes and layers (groups included)."""

    max_pixels: int
    max_bytes: int
    max_layers: int

    @classmethod
    def from_settings(cls) -> PsdLimits:
        from django.conf import settings

        return cls(
            max_pixels=settings.CREATIVE_MAX_IMAGE_PIXELS,
            max_bytes=settings.TEMPLATE_PSD_MAX_BYTES,
            max_layers=settings.TEMPLATE_PSD_MAX_LAYERS,
        )


@dataclass(frozen=True)
class PsdHeader:
    version: int  # 1 PSD, 2 PSB
    channels: int
    width: int
    height: int
    depth: int
    colour_mode: int
    layer_records: int  # in the layer info section; a group counts twice (its start and its end)


@dataclass(frozen=True)
class PsdAsset:
    name: str  # the name the spec refers to it by
    kind: str  # an Asset.Kind value
    data: bytes  # PNG
    layer: str  # where it came from in the PSD


@dataclass(frozen=True)
class Unmapped:
    layer: str
    reason: str

    def __str__(self) -> str:
        return f"{self.layer}: {self.reason}"


@dataclass(frozen=True)
class PsdImport:
    spec: dict
    assets: tuple[PsdAsset, ...]
    imported: tuple[str, ...]  # one line per mapped layer, for the designer
    unmapped: tuple[Unmapped, ...]
    size: tuple[int, int]


def _rejected(message: str, code: str) -> UploadRejected:
    return UploadRejected(message, code=code)


# --- the header, read before psd-tools sees the file ---------------------------------------------------


def psd_header(data: bytes) -> PsdHeader:
    """The file header and the layer record count, read from the raw bytes; UploadRejected if they are damaged."""
    if len(data) < 26 or data[:4] != b"8BPS":
        raise _rejected("This is not a Photoshop file (no 8BPS signature).", "psd_unreadable")
    version, channels, height, width, depth, mode = struct.unpack(">H6xHIIHH", data[4:26])
    if version not in (1, 2):
        raise _rejected(f"Unknown Photoshop file version {version} (1 is PSD, 2 is PSB).", "psd_unreadable")
    length_size = 4 if version == 1 else 8
    pos = 26
    try:
        for _ in ("colour mode data", "image resources"):
            (size,) = struct.unpack_from(">I", data, pos)
            pos += 4 + size
        (layer_and_mask,) = struct.unpack_from(">I" if version == 1 else ">Q", data, pos)
        pos += length_size
        records = 0
        if layer_and_mask:
            (layer_info,) = struct.unpack_from(">I" if version == 1 else ">Q", data, pos)
            pos += length_size
            if layer_info:
                (count,) = struct.unpack_from(">h", data, pos)
                records = abs(count)
    except struct.error as exc:
        raise _rejected("The Photoshop file is truncated (its sections end early).", "psd_unreadable") from exc
    return PsdHeader(version, channels, width, height, depth, mode, records)


def psd_check(data: bytes, limits: PsdLimits) -> PsdHeader:
    """The header of an acceptable PSD; UploadRejected (nothing parsed, nothing decoded) for one over the limits."""
    if len(data) > limits.max_bytes:
        raise _rejected(
            f"The PSD is {len(data) / 2**20:.1f} MB, over the limit of {limits.max_bytes / 2**20:.0f} MB.",
            "psd_too_large",
        )
    header = psd_header(data)
    pixels = header.width * header.height
    if header.width < 1 or header.height < 1:
        raise _rejected(f"The PSD canvas is {header.width}x{header.height}: empty.", "psd_unreadable")
    if pixels > limits.max_pixels:
        raise _rejected(
            f"The PSD canvas is {header.width}x{header.height} = {pixels:,} pixels, over the limit of "
            f"{limits.max_pixels:,} (a decompression bomb or a print file; export it at screen size).",
            "image_too_large",
        )
    if header.colour_mode != 3:
        mode = COLOUR_MODES.get(header.colour_mode, str(header.colour_mode))
        raise _rejected(
            f"The PSD is in {mode} colour mode; convert it to RGB (Image > Mode > RGB Color) and save it again.",
            "psd_colour_mode",
        )
    if header.depth not in (8, 16):
        raise _rejected(
            f"The PSD has {header.depth} bits per channel; save it at 8 or 16 bits.", "psd_depth"
        )  # fmt: skip
    # A group is two records (its start and end), so the layer limit allows twice as many records.
    if header.layer_records > 2 * limits.max_layers:
        raise _rejected(_too_many_layers(header.layer_records, limits), "psd_too_many_layers")
    return header


def _too_many_layers(count: int, limits: PsdLimits) -> str:
    return f"The PSD has {count} layers, over the limit of {limits.max_layers}; merge or delete some."


# --- reading the layers ----------------------------------------------------------------------------------


def psd_template(
    data: bytes, *, name: str, limits: PsdLimits, brand_colours: Mapping[str, str] | None = None
) -> PsdImport:
    """Read a PSD into a template spec, its assets (PNG) and the layers that could not be mapped.

    `brand_colours` ({"primary": "#rrggbb", "accent": ..., "text": ...}) lets text and shape colours
    that match the brand take its roles. Raises UploadRejected for files over the limits (checked
    before parsing) or that psd-tools cannot read; never returns half a result.
    """
    header = psd_check(data, limits)
    try:
        return _Reader(data, header, name=name, limits=limits, brand_colours=brand_colours or {}).read()
    except UploadRejected:
        raise
    except Exception as exc:  # psd-tools raises anything from struct.error to KeyError on a damaged file
        logger.info("PSD %r refused as unreadable", name, exc_info=True)
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise _rejected(f"The PSD could not be read: it is damaged or truncated ({reason}).", "psd_unreadable") from exc


def _normalised(name: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[\s_]+", "-", name.strip().lower())).strip("-")


def convention_role(layer_name: str) -> tuple[str, str] | None:
    """(role, layer id) for a name in the convention (case and separators ignored), else None."""
    n = _normalised(layer_name)
    if n in ("bg", "background"):
        return "background", "bg"
    if m := re.fullmatch(r"product(?:-([1-4]))?", n):
        return "product", f"product-{m.group(1) or 1}"
    if n in TEXT_ROLES or n == "logo":
        return n, n
    if m := re.fullmatch(r"(?:deco|decoration)(?:-([a-z0-9-]+))?", n):
        return "decoration", f"deco-{m.group(1) or 1}"
    if m := re.fullmatch(r"shape(?:-([a-z0-9-]+))?", n):
        return "shape", f"shape-{m.group(1) or 1}"
    return None


def _suggestion(layer, name: str) -> str:
    """A hint for a name outside the convention, from its words or, for text, from what it says."""
    for word in re.split(r"[^a-z0-9]+", name.lower()):
        if word in SUGGESTIONS:
            return f"; it looks like `{SUGGESTIONS[word]}`: rename it so to import it"
        if word and convention_role(word):
            return f"; it looks like `{word}`: rename it so to import it"
    if layer.kind == "type":
        if CURRENCY.search(getattr(layer, "text", "")):
            return "; a text layer with a price in it: rename it `price` to import it"
        return "; a text layer: rename it `title`, `subtitle`, `price` or `badge` to import it"
    return ""


def _kind_label(layer) -> str:
    kind = layer.kind
    return {
        "pixel": "pixel layer", "type": "text layer", "group": "group", "shape": "shape layer",
        "smartobject": "smart object", "artboard": "artboard", "solidcolorfill": "colour fill layer",
        "gradientfill": "gradient fill layer", "patternfill": "pattern fill layer",
    }.get(kind, f"{kind} layer")  # fmt: skip


@dataclass
class _Element:
    """One mapped layer before it becomes spec JSON."""

    role: str
    id: str
    path: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in canvas pixels, clipped to the canvas
    spec: dict = field(default_factory=dict)


class _Reader:
    def __init__(self, data: bytes, header: PsdHeader, *, name: str, limits: PsdLimits, brand_colours):
        self.data, self.header, self.name, self.limits = data, header, name, limits
        self.brand = {role: hex_to_rgb(value) for role, value in brand_colours.items() if value}
        self.width, self.height = header.width, header.height
        self.scale = math.sqrt(self.width * self.height)
        self.elements: list[_Element] = []
        self.assets: list[PsdAsset] = []
        self.imported: list[str] = []
        self.unmapped: list[Unmapped] = []
        self.palette: dict[str, str] = {}
        self.products: list[_Element] = []
        self.taken: set[str] = set()

    def read(self) -> PsdImport:
        from psd_tools import ParseLimits, PSDImage

        n = len(self.data)
        psd = PSDImage.open(
            io.BytesIO(self.data),
            parse_limits=ParseLimits(max_read_bytes=n, max_total_bytes=4 * n + 2**20),
            # The ceiling on any one pixel buffer psd-tools builds: one canvas of float RGBA.
            max_alloc_bytes=max(2**24, self.limits.max_pixels * 4 * 8),
        )
        if (psd.width, psd.height) != (self.width, self.height):
            raise _rejected("The PSD header and its parsed canvas disagree.", "psd_unreadable")
        layers = list(psd.descendants())
        if len(layers) > self.limits.max_layers:
            raise _rejected(_too_many_layers(len(layers), self.limits), "psd_too_many_layers")
        for layer, path in _walk(psd, ""):
            self._layer(layer, path)
        return self._result()

    # -- one layer --------------------------------------------------------------------------------------

    def _layer(self, layer, path: str) -> None:
        kind = layer.kind
        if not layer.visible:
            count = len(list(layer.descendants())) if kind in ("group", "artboard") else 0
            inside = f" ({count} layer{'s' if count != 1 else ''} inside)" if count else ""
            self._skip(path, f"hidden {_kind_label(layer)}{inside}: show it to import it")
            return
        if _is_adjustment(layer):
            self._skip(path, f"adjustment layer ({type(layer).__name__}): adjustments are not imported")
            return
        mapped = convention_role(layer.name)
        if mapped is None:
            if kind in ("group", "artboard"):
                return  # walked by _walk
            self._skip(path, f"{_kind_label(layer)} with a name outside the convention{_suggestion(layer, layer.name)}")
            return
        role, layer_id = mapped
        if kind in ("group", "artboard") and role in TEXT_ROLES:
            self._skip(path, f"a group named {role}: {role} must be a text layer")
            return
        box = self._box(layer)
        if box is None:
            self._skip(path, f"{_kind_label(layer)} with nothing inside the canvas")
            return
        if role == "product":
            self._product(layer, path, layer_id, box)
            return
        if role in ("background", "title", "subtitle", "price", "badge", "logo") and role in self.taken:
            self._skip(path, f"a second {role}: a template has one {role} layer")
            return
        self.taken.add(role)
        if role == "background":
            self._background(layer, path)
        elif role in TEXT_ROLES:
            self._text(layer, path, role, box)
        elif role in ("logo", "decoration"):
            self._picture(layer, path, role, self._unique_id(layer_id), box)
        elif role == "shape":
            self._shape(layer, path, self._unique_id(layer_id), box)
        self._note_effects(layer, path, role)

    def _skip(self, path: str, reason: str) -> None:
        self.unmapped.append(Unmapped(path, reason))

    def _unique_id(self, layer_id: str) -> str:
        ids = {e.id for e in self.elements}
        candidate, n = layer_id, 2
        while candidate in ids:
            candidate, n = f"{layer_id}-{n}", n + 1
        return candidate

    def _box(self, layer) -> tuple[int, int, int, int] | None:
        """The layer's bounds clipped to the canvas; None when nothing of it is on the canvas.

        Refuses (before any pixel is decoded) a layer whose declared size is over the pixel limit.
        """
        left, top, right, bottom = layer.bbox
        if (right - left) * (bottom - top) > self.limits.max_pixels:
            raise _rejected(
                f"Layer {layer.name!r} declares {right - left}x{bottom - top} pixels, over the limit of "
                f"{self.limits.max_pixels:,}.",
                "image_too_large",
            )
        x0, y0 = max(0, left), max(0, top)
        x1, y1 = min(self.width, right), min(self.height, bottom)
        if x1 - x0 < 1 or y1 - y0 < 1:
            return None
        return x0, y0, x1, y1

    def _relative(self, box: tuple[int, int, int, int]) -> dict:
        x0, y0, x1, y1 = box
        return {
            "x": round(x0 / self.width, 4),
            "y": round(y0 / self.height, 4),
            "w": round((x1 - x0) / self.width, 4),
            "h": round((y1 - y0) / self.height, 4),
        }

    def _pixels(self, layer, box: tuple[int, int, int, int]) -> Image.Image:
        """The layer (masks, clipping and the effects psd-tools draws applied) over a transparent backdrop."""
        image = layer.composite(viewport=box, color=0.0, alpha=0.0, apply_icc=False)
        if image is None:
            return Image.new("RGBA", (box[2] - box[0], box[3] - box[1]), (0, 0, 0, 0))
        return image.convert("RGBA")

    # -- roles ----------------------------------------------------------------------------------------------

    def _background(self, layer, path: str) -> None:
        image = self._pixels(layer, (0, 0, self.width, self.height))
        rgba = np.asarray(image)
        opaque = rgba[..., 3] == 255
        colours = rgba[..., :3][opaque]
        element = _Element("background", "bg", path, (0, 0, self.width, self.height))
        if opaque.all() and float(colours.std(axis=0).max()) < PLAIN_BACKGROUND_STD:
            colour = tuple(int(v) for v in np.median(colours, axis=0))
            role = self._brand_role(colour) or "background"
            self._palette(role, colour)
            element.spec = {"fill": {"type": "colour", "colour": role}}
            self.imported.append(f"{path}: background, plain colour {rgb_to_hex(colour)} as palette role {role}")
        else:
            flat = Image.new("RGBA", image.size, (255, 255, 255, 255))
            flat.alpha_composite(image)
            asset = self._asset(flat.convert("RGB"), "bg", "background", path)
            element.spec = {"fill": {"type": "image", "asset": asset}}
            self.imported.append(f"{path}: background image ({self.width}x{self.height}), asset {asset!r}")
        self.elements.append(element)

    def _product(self, layer, path: str, layer_id: str, box) -> None:
        if any(p.id == layer_id for p in self.products):
            self._skip(path, f"a second {layer_id} placeholder")
            return
        element = _Element("product", layer_id, path, box)
        if not self.products:  # the product layer goes where the first placeholder is in the stack
            self.elements.append(_Element("product", "product", path, box))
        self.products.append(element)
        self.imported.append(f"{path}: product placeholder {layer_id} at {_fmt_box(self._relative(box))}")

    def _text(self, layer, path: str, role: str, box) -> None:
        x0, y0, x1, y1 = box
        if layer.kind == "type":
            style = _type_style(layer)
            font_px, colour, align, font = style.font_px, style.colour, style.align, style.font
            lines = max(1, len([line for line in layer.text.replace("\r", "\n").split("\n") if line.strip()]))
            source = f"text {layer.text.strip()[:40]!r}, {font_px:.0f} px {style.font_name or 'font'}"
        else:
            # Rasterised text: the size is the ink's height, the colour the ink's median.
            rgba = np.asarray(self._pixels(layer, box))
            ink = rgba[..., :3][rgba[..., 3] > 128]
            colour = tuple(int(v) for v in np.median(ink, axis=0)) if len(ink) else (0, 0, 0)
            font_px, align, lines = float(y1 - y0), "left", 1
            font = "sans-cjk-bold" if role != "subtitle" else "sans-cjk"
            source = f"{_kind_label(layer)} (not text: size and colour estimated from its pixels)"
        # The layer's bounds are the ink; the box gets room for a line at full size (centred on the ink).
        need = round(font_px * 1.25 * lines)
        if y1 - y0 < need:
            grow = need - (y1 - y0)
            y0 = max(0, y0 - grow // 2)
            y1 = min(self.height, y0 + need)
        size = min(0.5, max(0.004, font_px / self.scale))
        role_colour = self._text_role(colour)
        max_lines = max(1, min(6, max(lines, int((y1 - y0) / (font_px * 1.2)))))
        element = _Element(role, role, path, (x0, y0, x1, y1))
        element.spec = {
            "colour": role_colour,
            "text": {
                "font": font,
                "size": [round(size * 0.6, 4), round(size, 4)],
                "max_lines": max_lines,
                "align": align,
            },
        }
        self._palette(role_colour, colour)
        self.elements.append(element)
        self.imported.append(
            f"{path}: {role} from {source}, size {size:.3f} of the canvas scale, {align}, "
            f"colour {rgb_to_hex(colour)} as {role_colour}"
        )

    def _picture(self, layer, path: str, role: str, layer_id: str, box) -> None:
        image = self._pixels(layer, box)
        trimmed = image.getchannel("A").getbbox()
        if trimmed is None:
            self.taken.discard(role)
            self._skip(path, "no visible pixels")
            return
        image = image.crop(trimmed)
        if min(image.size) < 2:
            self.taken.discard(role)
            self._skip(path, f"{image.width}x{image.height} pixels: too small to be an image")
            return
        box = (box[0] + trimmed[0], box[1] + trimmed[1], box[0] + trimmed[2], box[1] + trimmed[3])
        kind = "logo" if role == "logo" else "decoration"
        asset = self._asset(image, layer_id, kind, path)
        element = _Element(role, layer_id, path, box, {"asset": asset})
        if layer.opacity < 255 and role == "decoration":
            element.spec["opacity"] = round(layer.opacity / 255, 3)
        self.elements.append(element)
        self.imported.append(f"{path}: {role} {layer_id}, asset {asset!r} ({image.width}x{image.height})")

    def _shape(self, layer, path: str, layer_id: str, box) -> None:
        rgba = np.asarray(self._pixels(layer, box))
        solid = rgba[..., :3][rgba[..., 3] > 128]
        if not len(solid):
            self._skip(path, "no visible pixels")
            return
        colour = tuple(int(v) for v in np.median(solid, axis=0))
        shapes = sum(1 for e in self.elements if e.role == "shape")
        role = self._brand_role(colour) or ("primary" if shapes == 0 else "accent")
        self._palette(role, colour)
        element = _Element("shape", layer_id, path, box, {"colour": role})
        if layer.opacity < 255:
            element.spec["opacity"] = round(layer.opacity / 255, 3)
        self.elements.append(element)
        self.imported.append(f"{path}: shape {layer_id}, colour {rgb_to_hex(colour)} as {role}")

    def _note_effects(self, layer, path: str, role: str) -> None:
        blend = str(getattr(layer.blend_mode, "name", layer.blend_mode)).lower()
        if blend not in ("normal", "pass_through"):
            self._skip(path, f"blend mode {blend.replace('_', ' ')} is not imported: drawn as normal")
        if layer.kind in ("group", "artboard") or not layer.has_effects():
            return
        names = sorted({type(effect).__name__ for effect in layer.effects if getattr(effect, "enabled", True)})
        if names and role in TEXT_ROLES + ("shape",):
            self._skip(path, f"layer effects ({', '.join(names)}) are not imported: the engine draws {role}s itself")

    # -- colours ------------------------------------------------------------------------------------------

    def _brand_role(self, colour: RGB) -> str | None:
        """The brand role whose colour this is (within BRAND_MATCH_DELTA_E), if any."""
        if not self.brand:
            return None
        distance, role = min((_delta_e(colour, rgb), role) for role, rgb in self.brand.items())
        return role if distance <= BRAND_MATCH_DELTA_E else None

    def _text_role(self, colour: RGB) -> str:
        """A brand role when the colour is the brand's, else `text` for dark ink and `on_primary` for light.

        A second, different colour for a role already taken (a red price beside dark titles) takes
        `primary`, then `accent`, so the designer's palette keeps both colours.
        """
        role = self._brand_role(colour)
        if role:
            return role
        role = "text" if contrast_ratio(colour, (255, 255, 255)) >= contrast_ratio(colour, (0, 0, 0)) else "on_primary"
        for candidate in (role, "primary", "accent"):
            taken = self.palette.get(candidate)
            if taken is None or _delta_e(hex_to_rgb(taken), colour) <= BRAND_MATCH_DELTA_E:
                return candidate
        return role

    def _palette(self, role: str, colour: RGB) -> None:
        self.palette.setdefault(role, rgb_to_hex(colour))

    # -- output -----------------------------------------------------------------------------------------

    def _asset(self, image: Image.Image, layer_id: str, kind: str, path: str) -> str:
        name = f"{self.name}/{layer_id}"[:160]
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        self.assets.append(PsdAsset(name=name, kind=kind, data=buf.getvalue(), layer=path))
        return name

    def _result(self) -> PsdImport:
        layers: list[dict] = []
        background = next((e for e in self.elements if e.role == "background"), None)
        if background is None:
            self._skip("(no bg layer)", "the template gets a plain background in the palette's background colour")
            background = _Element("background", "bg", "", (0, 0, self.width, self.height))
            background.spec = {"fill": {"type": "colour", "colour": "background"}}
        layers.append({"id": "bg", "role": "background", **background.spec})
        cls = aspect_class(self.width, self.height)
        for element in self.elements:
            if element.role == "background":
                continue
            if element.role == "product":
                zone = (
                    min(p.box[0] for p in self.products), min(p.box[1] for p in self.products),
                    max(p.box[2] for p in self.products), max(p.box[3] for p in self.products),
                )  # fmt: skip
                layers.append({"id": "product", "role": "product", "boxes": {cls: self._relative(zone)}})
                continue
            box = {cls: self._relative(element.box)}
            layers.append({"id": element.id, "role": element.role, **element.spec, "boxes": box})
        if not self.products:
            self._skip("(no product layer)", "the product is placed automatically at every size")
            behind = 1
            while behind < len(layers) and layers[behind]["role"] == "shape":
                behind += 1
            layers.insert(behind, {"id": "product", "role": "product"})
        spec = {
            "spec_version": 1,
            "name": self.name,
            "description": f"Imported from a {self.width}x{self.height} PSD.",
            "tags": ["psd"],
            "canvas": {"safe_margin": self._safe_margin()},
            "products": {"min": 1, "max": max(1, len(self.products))},
            "layers": layers,
        }
        if self.palette:
            spec["palette"] = dict(self.palette)
        return PsdImport(
            spec=spec,
            assets=tuple(self.assets),
            imported=tuple(self.imported),
            unmapped=tuple(self.unmapped),
            size=(self.width, self.height),
        )

    def _safe_margin(self) -> float:
        """The template's margin: 0.05 of the shorter side, or less when the designer placed things closer."""
        short = min(self.width, self.height)
        gaps = [0.05 * short]
        for e in [*self.elements, *self.products]:
            if e.role in ("background", "shape"):
                continue
            x0, y0, x1, y1 = e.box
            gaps.append(min(x0, y0, self.width - x1, self.height - y1))
        return math.floor(max(0.0, min(gaps)) / short * 1000) / 1000


def _walk(group, prefix: str) -> Iterator[tuple[object, str]]:
    """Every layer bottom first, with its path; a group is yielded itself and, unless it is hidden or
    named by the convention (then it is one element), its children after it."""
    for layer in group:
        path = f"{prefix}{layer.name}"
        yield layer, path
        if layer.kind in ("group", "artboard") and layer.visible and convention_role(layer.name) is None:
            yield from _walk(layer, f"{path} / ")


def _is_adjustment(layer) -> bool:
    from psd_tools.api.layers import AdjustmentLayer

    return isinstance(layer, AdjustmentLayer)


@dataclass(frozen=True)
class _TypeStyle:
    font_px: float
    colour: RGB
    align: str
    font: str
    font_name: str


def _type_style(layer) -> _TypeStyle:
    """Size (pixels, after the layer's transform), colour, alignment and registry font of a text layer.

    The largest run gives the size; the longest one the colour and the font.
    """
    from psd_tools.constants import Justification

    setting = layer.typesetting
    runs = [run for run in setting.runs if run.text.strip()] or list(setting.runs)
    if not runs:
        raise _rejected(f"Text layer {layer.name!r} has no text runs.", "psd_unreadable")
    xx, xy, yx, yy, _, _ = layer.transform
    vertical = math.hypot(yx, yy) or 1.0
    font_px = max(run.style.font_size for run in runs) * vertical
    main = max(runs, key=lambda run: len(run.text.strip()))
    argb = main.style.fill_color
    colour = tuple(round(min(1.0, max(0.0, v)) * 255) for v in argb[1:4]) if argb and len(argb) >= 4 else (0, 0, 0)
    justification = setting.paragraphs[0].style.justification if setting.paragraphs else Justification.LEFT
    align = {
        Justification.RIGHT: "right", Justification.JUSTIFY_LAST_RIGHT: "right",
        Justification.CENTER: "center", Justification.JUSTIFY_LAST_CENTER: "center",
    }.get(justification, "left")  # fmt: skip
    font_name = main.style.font_name or ""
    lowered = font_name.lower()
    if (
        any(s in lowered for s in ("serif", "song", "ming", "times", "georgia", "garamond", "mincho"))
        and "sans" not in lowered
    ):
        font = "serif-cjk"
    elif main.style.faux_bold or any(s in lowered for s in ("bold", "black", "heavy", "semibold", "demi")):
        font = "sans-cjk-bold"
    else:
        font = "sans-cjk"
    return _TypeStyle(font_px, colour, align, font, font_name)


def _delta_e(a: RGB, b: RGB) -> float:
    return float(delta_e_2000(srgb_to_lab(np.array(a, dtype=float)), srgb_to_lab(np.array(b, dtype=float))))


def _fmt_box(box: dict) -> str:
    return f"x {box['x']:.2f}, y {box['y']:.2f}, w {box['w']:.2f}, h {box['h']:.2f}"


def spec_with_asset_names(spec: dict, renames: Mapping[str, str]) -> dict:
    """The spec with asset names replaced (an identical asset stored before keeps its own name)."""
    layers = []
    for layer in spec["layers"]:
        layer = dict(layer)
        if layer.get("asset") in renames:
            layer["asset"] = renames[layer["asset"]]
        fill = layer.get("fill")
        if fill and fill.get("asset") in renames:
            layer["fill"] = {**fill, "asset": renames[fill["asset"]]}
        layers.append(layer)
    return {**spec, "layers": layers}
