"""Reference renders: a few fixed creatives kept as PNGs, compared with a perceptual tolerance.

When a change to the engine is meant to change how ads look, regenerate them with
`make reference-renders` (python -m synthesis.tests.reference_renders), look at the PNGs,
and commit them with the change.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from synthesis.colour import palette_variants, srgb_to_lab
from synthesis.fonts import discover_fonts
from synthesis.product import prepare_product, product_theme_colours
from synthesis.render import AdCopy, RenderChoices, render
from synthesis.samples import product_photo, sample_assets
from synthesis.spec import load_template

HERE = Path(__file__).resolve().parent
REFERENCE_DIR = HERE / "reference"
TEMPLATE_DIR = HERE.parent / "templates"
CASES = {
    "single-hero-1080x1080": ("single-hero", (540, 540), 1),
    "single-hero-728x90": ("single-hero", (728, 90), 1),
    "scene-podium-1080x1920": ("scene-podium", (360, 640), 1),
    "multi-grid-1200x628": ("multi-grid", (600, 314), 3),
}
# Real photographs (scikit-learn's and scikit-image's sample photos): cut out, or shown as scenes.
PHOTO_CASES = {
    "photo-flower-1080x1080": ("single-hero", (540, 540), "flower"),
    "photo-flower-podium-1080x1920": ("scene-podium", (360, 640), "flower"),
    "photo-coffee-1200x628": ("single-hero", (600, 314), "coffee"),
    "photo-motorcycle-728x90": ("single-hero", (728, 90), "motorcycle"),
    "photo-coffee-320x50": ("single-hero", (320, 50), "coffee"),
}
SHEET_SIZES = ((1080, 1080), (1200, 628), (1080, 1920), (728, 90), (320, 50))
SHEET_PHOTOS = ("flower", "coffee", "motorcycle", "china", "rocket", "mug-on-wood", "bottle-on-colour")


def real_photo(name: str) -> Image.Image:
    """A real photograph shipped inside an installed package (nothing is downloaded)."""
    if name in ("flower", "china"):
        from sklearn.datasets import load_sample_image

        return Image.fromarray(load_sample_image(f"{name}.jpg"))
    import skimage

    files = {"coffee": "coffee.png", "motorcycle": "motorcycle_left.png", "rocket": "rocket.jpg"}
    return Image.open(Path(skimage.__file__).parent / "data" / files[name]).convert("RGB")


def sheet_photo(name: str) -> Image.Image:
    from synthesis.photo_samples import labelled_photo

    if name == "mug-on-wood":
        return labelled_photo("wood", shape="mug", body_rgb=(196, 48, 43), seed=3).image
    if name == "bottle-on-colour":
        return labelled_photo("plain-colour", shape="labelled-bottle", body_rgb=(28, 42, 96), seed=5).image
    return real_photo(name)


def render_references() -> dict[str, Image.Image]:
    fonts, assets = discover_fonts(), sample_assets()
    products = tuple(
        prepare_product(product_photo(c, shape=s, size=500, seed=i).image)
        for i, (c, s) in enumerate([((178, 34, 52), "jacket"), ((31, 58, 110), "bottle"), ((46, 125, 90), "sneaker")])
    )
    theme = product_theme_colours(products[0].image)
    palette = palette_variants(theme, n=1)[0]
    copy = AdCopy("网易严选 冬季羽绒服 限时直降", "90% 白鹅绒 · -20°C 保暖", "¥699", "限时直降")
    out = {}
    for name, (template_name, size, count) in CASES.items():
        template = load_template(TEMPLATE_DIR / f"{template_name}.json")
        out[name] = render(
            template,
            size,
            products=products[:count],
            copy=copy,
            choices=RenderChoices(palette=palette),
            fonts=fonts,
            assets=assets,
        ).image
    photos = {name: prepare_product(real_photo(name)) for name in {case[2] for case in PHOTO_CASES.values()}}
    for name, (template_name, size, photo) in PHOTO_CASES.items():
        template = load_template(TEMPLATE_DIR / f"{template_name}.json")
        product = photos[photo]
        photo_theme = product_theme_colours(product.image)
        out[name] = render(
            template,
            size,
            products=(product,),
            copy=copy,
            choices=RenderChoices(palette=palette_variants(photo_theme, n=1)[0]),
            fonts=fonts,
            assets=assets,
        ).image
    return out


def contact_sheet() -> Image.Image:
    """The best creative per size for each sheet photo, over every shipped template, as a reviewer sees them."""
    from synthesis.search import search_creatives

    fonts, assets = discover_fonts(), sample_assets()
    templates = [load_template(path) for path in sorted(TEMPLATE_DIR.glob("*.json"))]
    copy = AdCopy("冬季新品 轻暖一整季", "90% 白鹅绒 · -20°C 保暖", "¥699", "限时直降")
    rows = []
    for name in SHEET_PHOTOS:
        product = prepare_product(sheet_photo(name))
        theme = product_theme_colours(product.image)
        result = search_creatives(
            templates, [product], [copy], SHEET_SIZES, theme=theme, fonts=fonts, assets=assets, n=24
        )
        source = sheet_photo(name).convert("RGB")
        source.thumbnail((300, 300))
        tiles = [source]
        for creative in result.creatives:
            tile = creative.rendered.image.copy()
            tile.thumbnail((300, 300) if max(creative.size) <= 1080 else (400, 400))
            tiles.append(tile)
        rows.append(tiles)
    return _grid(rows)


CAMPAIGN_SIZES = ((1080, 1080), (1080, 1920), (1200, 628), (300, 250), (728, 90), (320, 50))
CAMPAIGN_PRODUCTS = (  # (sheet photos or drawn products, the product's own subtitle)
    (("flower",), "限定花礼 · 同城速达"),
    (("motorcycle",), "复古街车 · 低座高易驾驭"),
    (("mug-on-wood",), "手工陶瓷 · 可进洗碗机"),
    (("bottle-on-colour",), "12 小时保温 · 316 不锈钢"),
    (("coffee",), "精品手冲 · 当日烘焙"),
    (("drawn-jacket", "drawn-bottle", "drawn-sneaker"), "冬季焕新 · 全场包邮"),
)


def _campaign_product(name: str):
    if name.startswith("drawn-"):
        colours = {"jacket": (178, 34, 52), "bottle": (31, 58, 110), "sneaker": (46, 125, 90)}
        shape = name.removeprefix("drawn-")
        return prepare_product(product_photo(colours[shape], shape=shape, size=500, seed=len(shape)).image)
    return prepare_product(sheet_photo(name))


def campaign_sheet() -> Image.Image:
    """A generated campaign at every size: one row per product set, its best design family laid out at each size.

    What an art director checks: the sizes of a row look like one campaign, each product carries
    its own selling points, and the small banners read.
    """
    from synthesis.search import search_creatives

    fonts, assets = discover_fonts(), sample_assets()
    templates = [load_template(path) for path in sorted(TEMPLATE_DIR.glob("*.json"))]
    rows = []
    for names, subtitle in CAMPAIGN_PRODUCTS:
        products = [_campaign_product(n) for n in names]
        theme = product_theme_colours(products[0].image)
        copies = [
            AdCopy("冬季新品 轻暖一整季", subtitle, "¥699", "限时直降"),
            AdCopy("网易严选 年货节 好物直降 满 299 减 50", subtitle, "¥1299.9", "限时直降"),
        ]
        result = search_creatives(
            templates, products, copies, CAMPAIGN_SIZES, theme=theme, fonts=fonts, assets=assets, n=24, seed=7
        )
        tiles = []
        for creative in result.creatives:
            tile = creative.rendered.image.copy()
            tile.thumbnail((330, 330) if max(creative.size) <= 1080 else (420, 420))
            tiles.append(tile)
        rows.append(tiles)
    return _grid(rows)


def _grid(rows: list[list[Image.Image]]) -> Image.Image:
    width = max(sum(t.width for t in row) + 12 * len(row) for row in rows)
    height = sum(max(t.height for t in row) + 12 for row in rows)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    y = 0
    for row in rows:
        x = 0
        for tile in row:
            sheet.paste(tile, (x, y))
            x += tile.width + 12
        y += max(t.height for t in row) + 12
    return sheet


def perceptual_difference(a: Image.Image, b: Image.Image) -> tuple[float, float]:
    """(mean CIELAB dE76, share of pixels with dE76 > 10) between two same-size images."""
    la = srgb_to_lab(np.asarray(a.convert("RGB"), dtype=np.float64))
    lb = srgb_to_lab(np.asarray(b.convert("RGB"), dtype=np.float64))
    de = np.sqrt(((la - lb) ** 2).sum(axis=2))
    return float(de.mean()), float((de > 10).mean())


def main() -> None:
    REFERENCE_DIR.mkdir(exist_ok=True)
    for name, image in render_references().items():
        path = REFERENCE_DIR / f"{name}.png"
        image.save(path, optimize=True)
        print(path)
    sheet = REFERENCE_DIR / "real-photos-sheet.jpg"
    contact_sheet().save(sheet, quality=85)
    print(sheet, "(look at it)")
    campaign = REFERENCE_DIR / "campaign-sheet.jpg"
    campaign_sheet().save(campaign, quality=85)
    print(campaign, "(look at it)")


if __name__ == "__main__":
    main()
