"""Layered PSDs built by code for the PSD import tests (and the browser test): never a downloaded file.

psd-tools writes pixel layers and groups; it cannot write text, so `add_text` composes a type layer
from its parts: the rasterised pixels Photoshop keeps beside the text, plus a type tool block
(`TySh`) whose engine data carries the text, font size, fill colour and justification.
"""

import functools
import io

from PIL import Image, ImageDraw, ImageFont
from psd_tools import PSDImage
from psd_tools.api.layers import Group, PixelLayer
from psd_tools.constants import Compression, Tag
from psd_tools.psd.descriptor import DescriptorBlock, RawData, String

JUSTIFICATION = {"left": 0, "right": 1, "center": 2}


def new_psd(size: tuple[int, int], colour=(255, 255, 255)) -> PSDImage:
    return PSDImage.new("RGBA", size, color=(*colour, 255), compression=Compression.RLE)


def add_pixels(parent, name: str, image: Image.Image, left: int = 0, top: int = 0, *, visible: bool = True):
    layer = PixelLayer.frompil(image.convert("RGBA"), parent, name, top=top, left=left)
    layer.visible = visible
    return layer


def add_rect(parent, name: str, box: tuple[int, int, int, int], colour, **kwargs):
    x0, y0, x1, y1 = box
    return add_pixels(parent, name, Image.new("RGBA", (x1 - x0, y1 - y0), (*colour, 255)), x0, y0, **kwargs)


def add_group(parent, name: str, *, visible: bool = True) -> Group:
    group = Group.new(parent, name=name)
    group.visible = visible
    return group


def _engine_string(text: str) -> bytes:
    raw = text.encode("utf-16-be").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(\xfe\xff" + raw + b")"


def _engine_data(text: str, font_size: float, colour, align: str, font: str) -> bytes:
    """Photoshop's text engine data (a PostScript-like dictionary) for one run and one paragraph."""
    n = str(len(text) + 1).encode()
    r, g, b = (f"{c / 255:.5f}".encode() for c in colour)
    return b"".join(
        [
            b"\n\n<<\n/EngineDict\n<<\n/Editor\n<<\n/Text ", _engine_string(text + "\r"), b"\n>>\n",
            b"/ParagraphRun\n<<\n/RunArray [\n<<\n/ParagraphSheet\n<<\n/Properties\n<<\n/Justification ",
            str(JUSTIFICATION[align]).encode(), b"\n>>\n>>\n>>\n]\n/RunLengthArray [ ", n, b" ]\n>>\n",
            b"/StyleRun\n<<\n/RunArray [\n<<\n/StyleSheet\n<<\n/StyleSheetData\n<<\n/Font 0\n/FontSize ",
            f"{font_size:.1f}".encode(), b"\n/FillColor\n<<\n/Type 1\n/Values [ 1.0 ", r, b" ", g, b" ", b,
            b" ]\n>>\n>>\n>>\n>>\n]\n/RunLengthArray [ ", n, b" ]\n>>\n>>\n",
            b"/ResourceDict\n<<\n/FontSet [\n<<\n/Name ", _engine_string(font), b"\n/Type 1\n>>\n]\n>>\n>>",
        ]
    )  # fmt: skip


def add_text(
    parent,
    name: str,
    text: str,
    *,
    left: int,
    top: int,
    font_size: float,
    colour=(20, 20, 20),
    align: str = "left",
    font: str = "ArialMT",
    scale: float = 1.0,
    visible: bool = True,
):
    """A type layer: `font_size` in points before the layer's transform (`scale`), as Photoshop keeps it."""
    px = round(font_size * scale)
    # The rasterised text Photoshop keeps beside the type data (Pillow's own font: glyphs for Latin only).
    face = ImageFont.load_default(size=px)
    width = max(8, round(face.getlength(text)) + 2)
    image = Image.new("RGBA", (width, round(px * 1.2)), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((0, 0), text, font=face, fill=(*colour, 255))
    layer = add_pixels(parent, name, image, left, top, visible=visible)
    data = DescriptorBlock(classID=b"TxLr")
    data[b"Txt "] = String(text + "\r")
    data[b"EngineData"] = RawData(_engine_data(text, font_size, colour, align, font))
    layer._record.tagged_blocks.set_data(
        Tag.TYPE_TOOL_OBJECT_SETTING,
        version=1,
        transform=(scale, 0.0, 0.0, scale, float(left), float(top + px)),
        text_version=50,
        text_data=data,
        warp_version=1,
        warp=DescriptorBlock(classID=b"warp"),
        left=0,
        top=0,
        right=width,
        bottom=image.height,
    )
    return layer


def psd_bytes(psd: PSDImage) -> bytes:
    buf = io.BytesIO()
    psd.save(buf)
    return buf.getvalue()


def star(size: int, colour=(250, 200, 40)) -> Image.Image:
    import math

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    c = size / 2
    radii = [c if i % 2 == 0 else 0.45 * c for i in range(10)]
    points = [(c + r * math.sin(i * math.pi / 5), c - r * math.cos(i * math.pi / 5)) for i, r in enumerate(radii)]
    ImageDraw.Draw(image).polygon(points, fill=(*colour, 255))
    return image


def logo_mark(size=(160, 60), colour=(30, 60, 140)) -> Image.Image:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((0, 0, size[1] - 1, size[1] - 1), fill=(*colour, 255))
    draw.rectangle((size[1] + 8, size[1] // 4, size[0] - 1, size[1] * 3 // 4), fill=(*colour, 255))
    return image


def gradient(size: tuple[int, int], top=(250, 240, 228), bottom=(236, 214, 190)) -> Image.Image:
    """A vertical gradient: a background that is a picture, not a plain colour."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(1, height - 1)
        draw.line((0, y, width, y), fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return image


@functools.lru_cache(maxsize=1)
def sample_psd_bytes() -> bytes:
    """A 1080x1080 ad layout: bg, product, title (a text layer), price, logo, a deco-star and one unmapped layer."""
    psd = new_psd((1080, 1080))
    add_pixels(psd, "bg", gradient((1080, 1080)))
    add_rect(psd, "product", (240, 380, 840, 900), (200, 200, 200))
    copy = add_group(psd, "copy")
    add_text(copy, "Title", "Winter sale", left=80, top=150, font_size=72, colour=(40, 30, 20), align="center")
    add_text(copy, "price", "¥599", left=80, top=930, font_size=60, colour=(180, 30, 40))
    add_pixels(psd, "logo", logo_mark(), 80, 60)
    add_pixels(psd, "deco-star", star(120), 880, 900)
    add_pixels(psd, "Layer 7", star(60, (90, 90, 90)), 900, 80)
    return psd_bytes(psd)


def add_invert_adjustment(parent, name: str = "Invert 1"):
    """An adjustment layer (Invert): a layer record carrying the `nvrt` block and no pixels of its own."""
    layer = add_pixels(parent, name, Image.new("RGBA", (2, 2), (0, 0, 0, 0)))
    layer._record.tagged_blocks.set_data(Tag.INVERT)
    return layer


def add_solid_fill(parent, name: str, colour, size: tuple[int, int]):
    """A solid colour fill layer (`SoCo`), as Photoshop's Layer > New Fill Layer > Solid Color makes it."""
    from psd_tools.psd.descriptor import Descriptor, Double

    layer = add_pixels(parent, name, Image.new("RGBA", size, (*colour, 255)))
    rgb = Descriptor(classID=b"RGBC")
    for key, value in zip((b"Rd  ", b"Grn ", b"Bl  "), colour, strict=True):
        rgb[key] = Double(float(value))
    block = DescriptorBlock(classID=b"null")
    block[b"Clr "] = rgb
    layer._record.tagged_blocks[Tag.SOLID_COLOR_SHEET_SETTING] = _tagged(Tag.SOLID_COLOR_SHEET_SETTING, block)
    return layer


def _tagged(key, data):
    from psd_tools.psd.tagged_blocks import TaggedBlock

    return TaggedBlock(key=key, data=data)
