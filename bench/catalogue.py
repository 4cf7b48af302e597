"""The products the campaign benchmarks generate for: real photographs, studio photos on
coloured, dark, wood and fabric backdrops, drawn products, and products with long copy.

`campaign_photos()` is the 20 of `bench.campaign`; `catalogue(n)` cycles through them for any
number of products, each pass a variation (mirrored, reframed, lit a little differently) so that
every product is its own image: decoded, cut out and themed anew, as a real catalogue would be.
"""

import io
from collections.abc import Iterator

from PIL import Image, ImageEnhance, ImageOps

from synthesis.photo_samples import labelled_photo
from synthesis.samples import product_photo
from synthesis.tests.reference_renders import real_photo


def campaign_photos() -> list[tuple[str, Image.Image, dict]]:
    """(sku, photo, extra fields): real photographs, studio backdrops, drawn products, long copy."""
    out: list[tuple[str, Image.Image, dict]] = []
    for name in ("flower", "coffee", "motorcycle", "rocket", "china"):
        out.append((f"REAL-{name}", real_photo(name), {"highlights": [f"{name} 限定款", "全国包邮"]}))
    for i, (kind, shape, rgb) in enumerate(
        [
            ("wood", "mug", (196, 48, 43)),
            ("plain-colour", "labelled-bottle", (28, 42, 96)),
            ("gradient", "sneaker", (46, 125, 90)),
            ("dark", "bag", (214, 170, 40)),
            ("fabric", "jacket", (178, 34, 52)),
        ]
    ):
        photo = labelled_photo(kind, shape=shape, body_rgb=rgb, seed=11 + i).image
        out.append((f"STUDIO-{kind}", photo, {"highlights": [f"{shape} 新品", "七天无理由"]}))
    drawn = [
        ((178, 34, 52), "jacket"),
        ((31, 58, 110), "bottle"),
        ((46, 125, 90), "sneaker"),
        ((214, 170, 40), "box"),
        ((120, 60, 140), "bag"),
        ((30, 30, 33), "jacket"),
        ((230, 230, 225), "bottle"),
        ((200, 90, 40), "box"),
        ((60, 140, 200), "sneaker"),
        ((150, 20, 40), "bag"),
    ]
    for i, (rgb, shape) in enumerate(drawn):
        extra: dict = {"highlights": [f"{shape} 爆款 {i}", "限时包邮"]}
        if i % 3 == 0:  # long copy: the longest highlights and short titles the product accepts
            extra = {
                "highlights": ["超长续航 一次充电使用整整三十天不用再担心电量问题", "防水防尘 IP68"],
                "short_title": "超轻量专业级跑步训练鞋 男女同款 四季百搭款式",
            }
        if i % 4 == 1:
            extra = {}  # no highlights of its own: the campaign's subtitle is printed
        out.append((f"DRAWN-{i:02d}", product_photo(rgb, shape=shape, size=600, seed=i).image, extra))
    return out


def jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def _variation(photo: Image.Image, k: int) -> Image.Image:
    """Pass `k` of a photo: mirrored every other pass, zoomed out by up to 12% on a border of its
    own edge colour, and 4% lighter or darker in turn (pass 0 is the photo itself)."""
    if k == 0:
        return photo
    out = ImageOps.mirror(photo) if k % 2 else photo
    pad = round(min(out.size) * 0.03 * (k % 5))
    if pad:
        edge = out.convert("RGB").getpixel((0, 0))
        out = ImageOps.expand(out.convert("RGB"), border=pad, fill=edge)
    return ImageEnhance.Brightness(out).enhance(1.0 + 0.04 * ((k % 3) - 1))


def catalogue(n: int) -> Iterator[tuple[str, Image.Image, dict]]:
    """`n` products (sku, photo, extra fields): the 20 campaign photos, then variations of them in turn."""
    base = campaign_photos()
    for i in range(n):
        sku, photo, extra = base[i % len(base)]
        k = i // len(base)
        yield (f"{sku}-{k:03d}" if k else sku), _variation(photo, k), extra
